//! APIC-access and APIC-write exit qualifications (SDM Vol. 3C 28.2.1, Table 28-6; 30.4.3.3).

/// Page offset of the ICR low half on the virtual-APIC page; an x2APIC ICR write that IPIv does not
/// virtualize exits with this offset (ipiv.md section 4).
pub const ICR_OFFSET: u16 = 0x300;

/// Page offset of the x2APIC SELF IPI register (MSR 0x83F); a self-IPI with a vector below 16 takes an
/// APIC-write exit with this offset (ipiv.md section 4).
pub const SELF_IPI_OFFSET: u16 = 0x3F0;

/// The register an APIC-write exit is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicWriteRegister {
    /// 0x300: an ICR value IPIv did not virtualize; read the 64-bit ICR and call `ipi::decide`.
    Icr,
    /// 0x3F0: a self-IPI the processor refused (vector below 16): drop it.
    SelfIpi,
    /// 0x080: TPR.
    Tpr,
    /// 0x0B0: EOI.
    Eoi,
    Other(u16),
}

/// APIC-write exit (reason 56): bits 11:0 give the offset of the register written on the virtual-APIC page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApicWrite {
    pub offset: u16,
}

impl ApicWrite {
    pub const fn decode(qualification: u64) -> Self {
        ApicWrite {
            offset: (qualification & 0xFFF) as u16,
        }
    }

    /// The x2APIC MSR of the register written (offset >> 4 | 0x800).
    pub const fn x2apic_msr(&self) -> u32 {
        0x800 | (self.offset as u32 >> 4)
    }

    /// Whether the write was to the ICR (the IPI fallback path).
    pub const fn is_icr(&self) -> bool {
        self.offset & 0xFF0 == ICR_OFFSET
    }

    /// Which register was written.
    pub const fn register(&self) -> ApicWriteRegister {
        match self.offset & 0xFF0 {
            ICR_OFFSET => ApicWriteRegister::Icr,
            SELF_IPI_OFFSET => ApicWriteRegister::SelfIpi,
            0x080 => ApicWriteRegister::Tpr,
            0x0B0 => ApicWriteRegister::Eoi,
            other => ApicWriteRegister::Other(other),
        }
    }
}

/// How an APIC-access exit (reason 44) touched the APIC-access page (bits 15:12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicAccessType {
    LinearRead,
    LinearWrite,
    LinearFetch,
    DuringEventDelivery,
    GuestPhysicalDuringEventDelivery,
    GuestPhysicalFetch,
    Other(u8),
}

/// APIC-access exit: bits 11:0 offset (for linear accesses), 15:12 access type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApicAccess {
    pub offset: u16,
    pub access: ApicAccessType,
}

impl ApicAccess {
    pub const fn decode(qualification: u64) -> Self {
        let access = match (qualification >> 12) & 0xF {
            0 => ApicAccessType::LinearRead,
            1 => ApicAccessType::LinearWrite,
            2 => ApicAccessType::LinearFetch,
            3 => ApicAccessType::DuringEventDelivery,
            10 => ApicAccessType::GuestPhysicalDuringEventDelivery,
            15 => ApicAccessType::GuestPhysicalFetch,
            other => ApicAccessType::Other(other as u8),
        };
        ApicAccess {
            offset: (qualification & 0xFFF) as u16,
            access,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icr_write_maps_to_msr_0x830() {
        let w = ApicWrite::decode(0x300);
        assert!(w.is_icr());
        assert_eq!(w.x2apic_msr(), 0x830);
        assert_eq!(w.register(), ApicWriteRegister::Icr);
        assert_eq!(
            ApicWrite::decode(0x3F0).register(),
            ApicWriteRegister::SelfIpi
        );
        assert_eq!(
            ApicWrite::decode(0x0F0).register(),
            ApicWriteRegister::Other(0xF0)
        );
    }

    #[test]
    fn eoi_write_is_not_icr() {
        let w = ApicWrite::decode(0xFFFF_F0B0);
        assert_eq!(w.offset, 0x0B0);
        assert!(!w.is_icr());
        assert_eq!(w.x2apic_msr(), 0x80B);
    }

    #[test]
    fn apic_access_write() {
        let a = ApicAccess::decode(0x1300);
        assert_eq!(
            a,
            ApicAccess {
                offset: 0x300,
                access: ApicAccessType::LinearWrite
            }
        );
        assert_eq!(ApicAccess::decode(0x5000).access, ApicAccessType::Other(5));
    }
}
