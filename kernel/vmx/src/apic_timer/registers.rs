//! The local APIC timer's registers as a guest writes them (SDM Vol. 3A 11.5.1 "Local Vector Table",
//! 11.5.4 "APIC Timer"): the LVT timer entry (vector, mask, mode) and the divide configuration.

/// Bits of the LVT timer entry a write keeps: vector (7:0), mask (16), mode (18:17). Delivery
/// status (12) is read-only and always reads 0 here (the interrupt is posted at once).
pub const LVT_TIMER_WRITABLE: u32 = 0x0007_00FF;
/// LVT mask bit.
pub const LVT_MASK: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const LVT_TSC_DEADLINE: u32 = 1 << 18;
/// Bits of the divide configuration register a write keeps (bits 0, 1 and 3).
pub const DIVIDE_WRITABLE: u32 = 0b1011;

/// The timer mode the LVT selects (bits 18:17). Like the emulator's own local APIC, the reserved
/// encoding 11b counts as TSC-deadline mode (bit 18 decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerMode {
    OneShot,
    Periodic,
    TscDeadline,
}

/// An LVT timer entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lvt(pub u32);

impl Lvt {
    /// The entry after reset: masked, one-shot, vector 0.
    pub const RESET: Lvt = Lvt(LVT_MASK);

    /// The entry a guest write of `value` leaves; with the APIC software-disabled (SVR bit 8 = 0)
    /// the mask bit stays set, as on bare metal.
    pub const fn written(value: u32, software_enabled: bool) -> Lvt {
        let kept = value & LVT_TIMER_WRITABLE;
        Lvt(if software_enabled {
            kept
        } else {
            kept | LVT_MASK
        })
    }

    pub const fn vector(self) -> u8 {
        self.0 as u8
    }

    pub const fn masked(self) -> bool {
        self.0 & LVT_MASK != 0
    }

    pub const fn mode(self) -> TimerMode {
        if self.0 & LVT_TSC_DEADLINE != 0 {
            TimerMode::TscDeadline
        } else if self.0 & LVT_PERIODIC != 0 {
            TimerMode::Periodic
        } else {
            TimerMode::OneShot
        }
    }

    /// The vector an expiry delivers: none while masked or for a vector below 16 (an illegal
    /// vector: the APIC reports an error and delivers nothing).
    pub const fn delivered_vector(self) -> Option<u8> {
        if self.masked() || self.vector() < 16 {
            None
        } else {
            Some(self.vector())
        }
    }
}

/// The divisor a divide-configuration value selects: bits 3, 1:0 = 000b divide by 2 ... 110b by
/// 128, 111b by 1.
pub const fn divisor(divide_configuration: u32) -> u64 {
    let code = ((divide_configuration & 0b1000) >> 1) | (divide_configuration & 0b11);
    if code == 0b111 {
        1
    } else {
        2 << code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divide_values_follow_the_sdm_table() {
        let table = [
            (0b0000, 2),
            (0b0001, 4),
            (0b0010, 8),
            (0b0011, 16),
            (0b1000, 32),
            (0b1001, 64),
            (0b1010, 128),
            (0b1011, 1),
        ];
        for (value, expected) in table {
            assert_eq!(divisor(value), expected, "{value:#06b}");
        }
        assert_eq!(
            divisor(0xFFFF_FFF4 & DIVIDE_WRITABLE),
            2,
            "bit 2 is ignored"
        );
    }

    #[test]
    fn lvt_fields_and_modes() {
        let lvt = Lvt::written(0x2_00EF, true);
        assert_eq!(
            (lvt.vector(), lvt.masked(), lvt.mode()),
            (0xEF, false, TimerMode::Periodic)
        );
        assert_eq!(Lvt::written(0x4_0040, true).mode(), TimerMode::TscDeadline);
        assert_eq!(Lvt::written(0x6_0040, true).mode(), TimerMode::TscDeadline);
        assert_eq!(Lvt::written(0x40, true).mode(), TimerMode::OneShot);
        assert_eq!(Lvt::written(0xFFFF_FFFF, true).0, LVT_TIMER_WRITABLE);
        assert_eq!(Lvt::RESET.delivered_vector(), None);
    }

    #[test]
    fn a_software_disabled_apic_keeps_the_timer_masked() {
        let lvt = Lvt::written(0x40, false);
        assert!(lvt.masked());
        assert_eq!(lvt.delivered_vector(), None);
        assert_eq!(Lvt::written(0x40, true).delivered_vector(), Some(0x40));
        assert_eq!(
            Lvt::written(0x0F, true).delivered_vector(),
            None,
            "illegal vector"
        );
    }
}
