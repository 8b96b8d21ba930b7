//! EPT entry and EPTP formats (SDM Vol. 3C 29.3.2 "EPT Translation Mechanism", Tables 29-1 to 29-6;
//! 25.6.11 "Extended-Page-Table Pointer (EPTP)").

use bitflags::bitflags;

/// Bytes mapped by one EPT page-table entry.
pub const PAGE_4K_BYTES: u64 = 1 << 12;
/// Bytes mapped by one EPT page-directory entry with bit 7 set.
pub const PAGE_2M_BYTES: u64 = 1 << 21;
/// Guest-physical addresses a 4-level EPT can translate.
pub const GUEST_PHYSICAL_LIMIT: u64 = 1 << 48;
/// Bits 51:12 of an entry: the physical address of the next table or of the page.
pub const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

bitflags! {
    /// Access rights of an EPT entry (bits 2:0).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct EptPermissions: u64 {
        const READ = 1 << 0;
        const WRITE = 1 << 1;
        /// Execute (supervisor-mode execute when mode-based control is on).
        const EXECUTE = 1 << 2;
    }
}

impl EptPermissions {
    /// Guest RAM: read, write, execute.
    pub const RAM: EptPermissions = EptPermissions::all();
    /// Device MMIO: read and write, no execute.
    pub const MMIO: EptPermissions = EptPermissions::READ.union(EptPermissions::WRITE);
}

/// EPT memory type of a leaf entry (bits 5:3) or of the paging structures (EPTP bits 2:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MemoryType {
    Uncacheable = 0,
    WriteCombining = 1,
    WriteThrough = 4,
    WriteProtected = 5,
    WriteBack = 6,
}

impl MemoryType {
    /// The type for a raw 3-bit value.
    pub const fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0 => Some(MemoryType::Uncacheable),
            1 => Some(MemoryType::WriteCombining),
            4 => Some(MemoryType::WriteThrough),
            5 => Some(MemoryType::WriteProtected),
            6 => Some(MemoryType::WriteBack),
            _ => None,
        }
    }
}

/// Bit 7 in a PDE/PDPTE: the entry maps a page instead of pointing to a table.
pub const LARGE_PAGE: u64 = 1 << 7;

/// An entry that points to the next paging structure at `table_phys` (all access allowed; the leaf decides).
pub const fn table_entry(table_phys: u64) -> u64 {
    (table_phys & ADDRESS_MASK) | EptPermissions::all().bits()
}

/// A leaf entry mapping the page at `page_phys`; `large` sets bit 7 (2 MiB page in a PDE).
pub const fn leaf_entry(
    page_phys: u64,
    permissions: EptPermissions,
    memory_type: MemoryType,
    large: bool,
) -> u64 {
    let size_bit = if large { LARGE_PAGE } else { 0 };
    (page_phys & ADDRESS_MASK) | permissions.bits() | (memory_type as u64) << 3 | size_bit
}

/// Whether an entry is present (any of read, write, execute).
pub const fn is_present(entry: u64) -> bool {
    entry & 0x7 != 0
}

/// EPTP for a 4-level EPT whose PML4 is at `pml4_phys` (4 KiB aligned): write-back paging structures,
/// page-walk length 4 (bits 5:3 = 3), accessed/dirty flags off.
pub const fn eptp(pml4_phys: u64) -> u64 {
    (pml4_phys & ADDRESS_MASK) | (3 << 3) | MemoryType::WriteBack as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eptp_has_write_back_and_walk_length_four() {
        assert_eq!(eptp(0x0123_4000), 0x0123_401E);
    }

    #[test]
    fn leaf_entries_carry_rights_type_and_size() {
        let ram = leaf_entry(
            0x4020_0000,
            EptPermissions::RAM,
            MemoryType::WriteBack,
            true,
        );
        assert_eq!(ram, 0x4020_0000 | 0x7 | 6 << 3 | 1 << 7);
        let mmio = leaf_entry(
            0xFEC0_0000,
            EptPermissions::MMIO,
            MemoryType::Uncacheable,
            false,
        );
        assert_eq!(mmio, 0xFEC0_0003);
        assert!(is_present(mmio) && !is_present(0xFEC0_0000));
    }

    #[test]
    fn table_entries_allow_everything_and_mask_the_address() {
        assert_eq!(table_entry(0x1234_5FFF), 0x1234_5007);
        assert_eq!(MemoryType::from_bits(6), Some(MemoryType::WriteBack));
        assert_eq!(MemoryType::from_bits(2), None);
    }
}
