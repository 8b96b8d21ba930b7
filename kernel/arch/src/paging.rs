//! Boot page tables: the first 4 GiB identity mapped with 2 MiB pages (RAM, LAPIC, IOAPIC), the rest
//! of the first 512 GiB with cached 1 GiB pages (RAM above 4 GiB on server boards).

/// Present.
pub const PTE_PRESENT: u64 = 1 << 0;
/// Writable.
pub const PTE_WRITABLE: u64 = 1 << 1;
/// Page-level write-through.
pub const PTE_WRITE_THROUGH: u64 = 1 << 3;
/// Page-level cache disable.
pub const PTE_CACHE_DISABLE: u64 = 1 << 4;
/// In a page-directory entry: maps a 2 MiB page instead of pointing to a page table.
pub const PTE_HUGE: u64 = 1 << 7;

/// Bytes mapped by one page-directory entry.
pub const HUGE_PAGE_BYTES: u64 = 2 << 20;
/// Bytes mapped by one page directory (512 entries).
pub const PD_SPAN_BYTES: u64 = HUGE_PAGE_BYTES * 512;
/// Number of page directories the boot tables use (4 x 1 GiB = 4 GiB).
pub const BOOT_PD_COUNT: usize = 4;
/// Physical addresses at or above this are device memory (LAPIC, IOAPIC, PCI holes): mapped uncached.
pub const DEVICE_REGION_START: u64 = 3 << 30;

/// Physical addresses below this are identity mapped by the boot tables (one PDPT of 1 GiB entries).
pub const MAPPED_END: u64 = 512 << 30;

/// One 4 KiB-aligned page table of any level.
#[repr(C, align(4096))]
#[derive(Clone, Copy)]
pub struct PageTable(pub [u64; 512]);

/// The page-directory entry that identity maps the 2 MiB page at `phys` (cached RAM or uncached device).
pub const fn identity_pde(phys: u64) -> u64 {
    let mut entry = phys | PTE_PRESENT | PTE_WRITABLE | PTE_HUGE;
    if phys >= DEVICE_REGION_START {
        entry |= PTE_CACHE_DISABLE | PTE_WRITE_THROUGH;
    }
    entry
}

/// The page directory that identity maps gibibyte `gib` (addresses `gib` GiB .. `gib + 1` GiB).
pub const fn identity_pd(gib: u64) -> PageTable {
    let mut table = [0u64; 512];
    let mut i = 0;
    while i < 512 {
        table[i] = identity_pde(gib * PD_SPAN_BYTES + i as u64 * HUGE_PAGE_BYTES);
        i += 1;
    }
    PageTable(table)
}

/// The page directories for the boot identity map, built at compile time.
pub const fn boot_pds() -> [PageTable; BOOT_PD_COUNT] {
    [
        identity_pd(0),
        identity_pd(1),
        identity_pd(2),
        identity_pd(3),
    ]
}

/// The boot PDPT before the 32-bit entry code points entries 0-3 at the boot page directories:
/// every later entry maps its gibibyte directly as a cached 1 GiB page (every CPU with VMX and
/// IPIv supports 1 GiB pages).
pub const fn boot_pdpt_high() -> PageTable {
    let mut table = [0u64; 512];
    let mut gib = BOOT_PD_COUNT;
    while gib < 512 {
        table[gib] = (gib as u64 * PD_SPAN_BYTES) | PTE_PRESENT | PTE_WRITABLE | PTE_HUGE;
        gib += 1;
    }
    PageTable(table)
}

/// A pointer entry (PML4 or PDPT) to the next-level table at `phys`.
pub const fn table_pointer_entry(phys: u64) -> u64 {
    phys | PTE_PRESENT | PTE_WRITABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_maps_zero_as_cached_ram() {
        assert_eq!(identity_pde(0), 0x83);
        assert_eq!(boot_pds()[0].0[1], 0x20_0000 | 0x83);
    }

    #[test]
    fn lapic_page_is_uncached() {
        let lapic = 0xFEE0_0000u64;
        let pds = boot_pds();
        let entry = pds[(lapic / PD_SPAN_BYTES) as usize].0
            [((lapic % PD_SPAN_BYTES) / HUGE_PAGE_BYTES) as usize];
        assert_eq!(entry & !0x1F_FFFF, 0xFEE0_0000 & !0x1F_FFFF);
        assert_ne!(entry & PTE_CACHE_DISABLE, 0);
        assert_ne!(entry & PTE_HUGE, 0);
    }

    #[test]
    fn every_entry_is_identity() {
        for (gib, pd) in boot_pds().iter().enumerate() {
            for (i, entry) in pd.0.iter().enumerate() {
                let phys = gib as u64 * PD_SPAN_BYTES + i as u64 * HUGE_PAGE_BYTES;
                assert_eq!(entry & 0x000F_FFFF_FFE0_0000, phys);
            }
        }
    }

    #[test]
    fn memory_above_4_gib_is_cached_1_gib_pages_up_to_mapped_end() {
        let pdpt = boot_pdpt_high();
        assert!(pdpt.0[..BOOT_PD_COUNT].iter().all(|&e| e == 0));
        assert_eq!(pdpt.0[4], (4 << 30) | 0x83);
        assert_eq!(pdpt.0[511] & !0xFFF, MAPPED_END - PD_SPAN_BYTES);
        assert!(pdpt.0.iter().all(|e| e & PTE_CACHE_DISABLE == 0));
    }

    #[test]
    fn pointer_entry_is_present_and_writable() {
        assert_eq!(table_pointer_entry(0x1000), 0x1003);
    }
}
