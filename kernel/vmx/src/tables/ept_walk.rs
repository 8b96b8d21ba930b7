//! Translating a guest-physical address through built EPT pages, as the processor would
//! (SDM Vol. 3C 29.3.2). Used by host tests and by the kernel for fault diagnostics.

use super::ept_entry::{is_present, EptPermissions, MemoryType, ADDRESS_MASK, LARGE_PAGE};

/// Where a guest-physical address lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub host: u64,
    pub permissions: EptPermissions,
    pub memory_type: Option<MemoryType>,
    /// Size of the page that maps it (4 KiB, 2 MiB or 1 GiB).
    pub page_bytes: u64,
}

/// Translates `guest` through the EPT rooted at `pml4_phys`; `read(table_phys, index)` reads entry
/// `index` of the table page at `table_phys`, `None` for a page it does not know. `None` if unmapped.
pub fn translate(
    read: impl Fn(u64, usize) -> Option<u64>,
    pml4_phys: u64,
    guest: u64,
) -> Option<Translation> {
    let mut table_phys = pml4_phys;
    for (level, shift) in [39u32, 30, 21, 12].into_iter().enumerate() {
        let entry = read(table_phys, ((guest >> shift) & 0x1FF) as usize)?;
        if !is_present(entry) {
            return None;
        }
        let leaf = level == 3 || (level > 0 && entry & LARGE_PAGE != 0);
        if leaf {
            return Some(leaf_translation(entry, guest, shift));
        }
        table_phys = entry & ADDRESS_MASK;
    }
    None
}

fn leaf_translation(entry: u64, guest: u64, shift: u32) -> Translation {
    let page_bytes = 1u64 << shift;
    Translation {
        host: (entry & ADDRESS_MASK & !(page_bytes - 1)) | (guest & (page_bytes - 1)),
        permissions: EptPermissions::from_bits_truncate(entry),
        memory_type: MemoryType::from_bits((entry >> 3) & 7),
        page_bytes,
    }
}
