//! EPT-violation exit qualification (SDM Vol. 3C 28.2.1, Table 28-7). The guest-physical address is
//! always in VMCS field 0x2400 for an EPT violation; bit 7 says whether the guest-linear address is valid.

/// A decoded EPT violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EptViolation {
    /// The access was a data read.
    pub read: bool,
    /// The access was a data write.
    pub write: bool,
    /// The access was an instruction fetch.
    pub execute: bool,
    /// The guest-physical address was readable / writable / executable in the EPT (bits 3-5).
    pub was_readable: bool,
    pub was_writable: bool,
    pub was_executable: bool,
    /// The guest-linear address field (0x640A) is valid.
    pub linear_address_valid: bool,
    /// With `linear_address_valid`: the access was to the final translation (not a paging structure).
    pub final_translation: bool,
    /// NMI unblocking due to IRET (bit 12).
    pub nmi_unblocking: bool,
}

impl EptViolation {
    /// Decodes bits 0-5, 7, 8 and 12 of the qualification.
    pub fn decode(qualification: u64) -> Self {
        let bit = |n: u32| qualification & (1 << n) != 0;
        EptViolation {
            read: bit(0),
            write: bit(1),
            execute: bit(2),
            was_readable: bit(3),
            was_writable: bit(4),
            was_executable: bit(5),
            linear_address_valid: bit(7),
            final_translation: bit(7) && bit(8),
            nmi_unblocking: bit(12),
        }
    }

    /// The kind of access for logs: "write" wins over "read", "execute" over both.
    pub const fn access_name(&self) -> &'static str {
        if self.execute {
            "execute"
        } else if self.write {
            "write"
        } else {
            "read"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_to_unmapped_memory() {
        let v = EptViolation::decode(0x182);
        assert!(v.write && !v.read && !v.execute);
        assert!(!v.was_readable && !v.was_writable);
        assert!(v.linear_address_valid && v.final_translation);
        assert_eq!(v.access_name(), "write");
    }

    #[test]
    fn fetch_from_non_executable_page() {
        let v = EptViolation::decode(0x1C | 1 << 2);
        assert!(v.execute && v.was_readable && v.was_writable && !v.was_executable);
        assert_eq!(v.access_name(), "execute");
        assert!(!v.linear_address_valid);
    }

    #[test]
    fn paging_structure_access_is_not_final() {
        let v = EptViolation::decode(0x81 | 1 << 12);
        assert!(v.read && v.linear_address_valid && !v.final_translation && v.nmi_unblocking);
    }
}
