//! The x2APIC interrupt command register (MSR 0x830, 64 bits; SDM Vol. 3A 11.6.1 and 11.12.9) and the
//! IPIv eligibility test of SDM Vol. 3C 30.5 as quoted in ipiv.md section 4.

/// Delivery mode (bits 10:8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    Fixed,
    LowestPriority,
    Smi,
    Nmi,
    Init,
    StartUp,
    /// 011b or 111b.
    Reserved(u8),
}

impl core::fmt::Display for DeliveryMode {
    /// The SDM's name of the mode (ICR bits 10:8).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            DeliveryMode::Fixed => f.write_str("fixed"),
            DeliveryMode::LowestPriority => f.write_str("lowest-priority"),
            DeliveryMode::Smi => f.write_str("SMI"),
            DeliveryMode::Nmi => f.write_str("NMI"),
            DeliveryMode::Init => f.write_str("INIT"),
            DeliveryMode::StartUp => f.write_str("start-up"),
            DeliveryMode::Reserved(bits) => write!(f, "reserved ({bits:#05b})"),
        }
    }
}

/// Destination shorthand (bits 19:18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shorthand {
    None,
    SelfOnly,
    AllIncludingSelf,
    AllExcludingSelf,
}

impl core::fmt::Display for Shorthand {
    /// The SDM's name of the shorthand (ICR bits 19:18).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Shorthand::None => "none",
            Shorthand::SelfOnly => "self",
            Shorthand::AllIncludingSelf => "all including self",
            Shorthand::AllExcludingSelf => "all excluding self",
        })
    }
}

/// A decoded x2APIC ICR value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icr {
    pub vector: u8,
    pub delivery: DeliveryMode,
    /// Bit 11: logical destination mode (otherwise physical).
    pub logical: bool,
    /// Bit 14: level assert (1) or de-assert (0).
    pub level_assert: bool,
    /// Bit 15: level-triggered (otherwise edge).
    pub level_triggered: bool,
    pub shorthand: Shorthand,
    /// Bits 63:32: x2APIC ID (physical) or cluster << 16 | member mask (logical); all ones = broadcast.
    pub destination: u32,
}

/// Low-half bits that make WRMSR 0x830 raise #GP: 31:20, 17:16 and 13 (ipiv.md section 4).
pub const ICR_RESERVED_LOW: u32 = 0xFFF0_0000 | 0x0003_0000 | 1 << 13;
/// Bit 12: delivery status in xAPIC mode; must be 0 for IPIv.
pub const ICR_DELIVERY_STATUS: u64 = 1 << 12;
/// Destination value meaning "every APIC" in x2APIC mode.
pub const BROADCAST: u32 = 0xFFFF_FFFF;

impl Icr {
    /// Decodes a 64-bit x2APIC ICR value (reserved bits are ignored here; see [`Icr::reserved_bits_set`]).
    pub const fn decode(raw: u64) -> Self {
        let delivery = match (raw >> 8) & 7 {
            0 => DeliveryMode::Fixed,
            1 => DeliveryMode::LowestPriority,
            2 => DeliveryMode::Smi,
            4 => DeliveryMode::Nmi,
            5 => DeliveryMode::Init,
            6 => DeliveryMode::StartUp,
            other => DeliveryMode::Reserved(other as u8),
        };
        let shorthand = match (raw >> 18) & 3 {
            0 => Shorthand::None,
            1 => Shorthand::SelfOnly,
            2 => Shorthand::AllIncludingSelf,
            _ => Shorthand::AllExcludingSelf,
        };
        Icr {
            vector: raw as u8,
            delivery,
            logical: raw & (1 << 11) != 0,
            level_assert: raw & (1 << 14) != 0,
            level_triggered: raw & (1 << 15) != 0,
            shorthand,
            destination: (raw >> 32) as u32,
        }
    }

    /// Whether a WRMSR of `raw` to the x2APIC ICR raises #GP (reserved bits 31:20, 17:16 or 13 set).
    pub const fn reserved_bits_set(raw: u64) -> bool {
        (raw as u32) & ICR_RESERVED_LOW != 0
    }

    /// The SDM's IPIv format test: no shorthand, edge, bit 12 clear, physical, fixed. The processor
    /// then still exits for vectors below 16 or a destination its PID-pointer table does not cover.
    pub const fn ipiv_eligible(raw: u64) -> bool {
        let icr = Icr::decode(raw);
        matches!(icr.shorthand, Shorthand::None)
            && !icr.level_triggered
            && raw & ICR_DELIVERY_STATUS == 0
            && !icr.logical
            && matches!(icr.delivery, DeliveryMode::Fixed)
    }

    /// Encodes a fixed, edge, physical IPI (what a guest writes for an ordinary unicast IPI).
    pub const fn fixed_physical(destination: u32, vector: u8) -> u64 {
        (destination as u64) << 32 | vector as u64
    }
}

/// The x2APIC logical ID of an x2APIC ID (SDM Vol. 3A 11.12.10.2): cluster in 31:16, one bit in 15:0.
pub const fn x2apic_logical_id(apic_id: u32) -> u32 {
    ((apic_id >> 4) << 16) | (1 << (apic_id & 0xF))
}

/// Whether a logical-mode destination selects the APIC with x2APIC ID `apic_id`.
pub const fn logical_destination_matches(destination: u32, apic_id: u32) -> bool {
    if destination == BROADCAST {
        return true;
    }
    let logical_id = x2apic_logical_id(apic_id);
    destination >> 16 == logical_id >> 16 && destination & logical_id & 0xFFFF != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_field() {
        let icr = Icr::decode(0x0000_0007_000C_C5FE);
        assert_eq!(icr.vector, 0xFE);
        assert_eq!(icr.delivery, DeliveryMode::Init);
        assert!(!icr.logical && icr.level_assert && icr.level_triggered);
        assert_eq!(icr.shorthand, Shorthand::AllExcludingSelf);
        assert_eq!(icr.destination, 7);
        assert!(Icr::decode(0x800).logical);
        assert_eq!(Icr::decode(0x300).delivery, DeliveryMode::Reserved(3));
    }

    #[test]
    fn reserved_bits_are_31_20_17_16_13() {
        assert!(Icr::reserved_bits_set(1 << 20));
        assert!(Icr::reserved_bits_set(1 << 16));
        assert!(Icr::reserved_bits_set(1 << 13));
        assert!(!Icr::reserved_bits_set(0xFFFF_FFFF_000C_DFFF));
    }

    #[test]
    fn ipiv_eligibility_follows_each_condition() {
        let unicast = Icr::fixed_physical(3, 0x40);
        assert!(Icr::ipiv_eligible(unicast));
        assert!(!Icr::ipiv_eligible(unicast | 1 << 18), "shorthand");
        assert!(!Icr::ipiv_eligible(unicast | 1 << 15), "level trigger");
        assert!(!Icr::ipiv_eligible(unicast | 1 << 12), "bit 12");
        assert!(!Icr::ipiv_eligible(unicast | 1 << 11), "logical");
        assert!(!Icr::ipiv_eligible(unicast | 4 << 8), "NMI");
        assert!(
            Icr::ipiv_eligible(unicast | 1 << 14),
            "level assert bit does not matter"
        );
    }

    #[test]
    fn logical_ids_follow_clusters_of_16() {
        assert_eq!(x2apic_logical_id(0), 0x0000_0001);
        assert_eq!(x2apic_logical_id(0x13), 0x0001_0008);
        assert!(logical_destination_matches(0x0001_0008, 0x13));
        assert!(logical_destination_matches(0x0000_0006, 2));
        assert!(!logical_destination_matches(0x0000_0006, 0x12));
        assert!(logical_destination_matches(BROADCAST, 0x12));
    }
}
