//! Boot page tables, identity mapped: the first GiB through one page directory of 2 MiB pages,
//! except the hypervisor image's first 2 MiB, which one page table maps in 4 KiB pages so that a
//! single page can be left out (a guard page, see `guard`); every other GiB of the first 512 as
//! one 1 GiB page where the CPU has them (CPUID 80000001H:EDX bit 26), 3-4 GiB uncached (LAPIC,
//! IOAPIC, PCI holes). On a CPU without 1 GiB pages, only the GiBs the image sized at build time
//! (`entry_points!(..., boot_map_gib: N)`) are mapped, each through a page directory of its own.

/// Present.
pub const PTE_PRESENT: u64 = 1 << 0;
/// Writable.
pub const PTE_WRITABLE: u64 = 1 << 1;
/// Page-level write-through.
pub const PTE_WRITE_THROUGH: u64 = 1 << 3;
/// Page-level cache disable.
pub const PTE_CACHE_DISABLE: u64 = 1 << 4;
/// In a page-directory or PDPT entry: maps a 2 MiB (1 GiB) page instead of pointing to a table.
pub const PTE_HUGE: u64 = 1 << 7;

/// Bytes of a 4 KiB page.
pub const PAGE_BYTES: u64 = 4096;
/// Bytes mapped by one page-directory entry.
pub const HUGE_PAGE_BYTES: u64 = 2 << 20;
/// Bytes mapped by one page directory (512 entries), or by one 1 GiB page.
pub const PD_SPAN_BYTES: u64 = HUGE_PAGE_BYTES * 512;
/// Physical addresses at or above this (below 4 GiB) are device memory (LAPIC, IOAPIC, PCI holes):
/// mapped uncached.
pub const DEVICE_REGION_START: u64 = 3 << 30;
/// Where every image is linked and loaded (`linker.ld` asserts it).
pub const IMAGE_BASE: u64 = 2 << 20;
/// The 2 MiB mapped in 4 KiB pages by the image's page table: [IMAGE_BASE, IMAGE_4K_END).
pub const IMAGE_4K_END: u64 = IMAGE_BASE + HUGE_PAGE_BYTES;
/// Byte offset, inside the first page directory, of the entry that points to the image's page table.
pub const IMAGE_PDE_OFFSET: u64 = IMAGE_BASE / HUGE_PAGE_BYTES * 8;

/// Physical addresses below this are identity mapped when the CPU has 1 GiB pages (one PDPT).
pub const MAPPED_END_1G_PAGES: u64 = 512 << 30;

/// CPUID 80000001H:EDX bit 26: 1-GByte pages.
pub const CPUID_1G_PAGES_BIT: u32 = 26;

/// One 4 KiB-aligned page table of any level.
#[repr(C, align(4096))]
#[derive(Clone, Copy)]
pub struct PageTable(pub [u64; 512]);

/// The entry that identity maps the 2 MiB page (or, in a PDPT, the 1 GiB page) at `phys`: cached
/// RAM, or uncached from `DEVICE_REGION_START` to 4 GiB.
pub const fn identity_huge_entry(phys: u64) -> u64 {
    let mut entry = phys | PTE_PRESENT | PTE_WRITABLE | PTE_HUGE;
    if phys >= DEVICE_REGION_START && phys < 4 << 30 {
        entry |= PTE_CACHE_DISABLE | PTE_WRITE_THROUGH;
    }
    entry
}

/// The page directory that identity maps gibibyte `gib` (addresses `gib` GiB .. `gib + 1` GiB).
pub const fn identity_pd(gib: u64) -> PageTable {
    let mut table = [0u64; 512];
    let mut i = 0;
    while i < 512 {
        table[i] = identity_huge_entry(gib * PD_SPAN_BYTES + i as u64 * HUGE_PAGE_BYTES);
        i += 1;
    }
    PageTable(table)
}

/// `gib` as the image's `boot_map_gib`, checked at build time: 1 (the image itself lies in GiB 0)
/// to 4 (above 4 GiB RAM needs 1 GiB pages).
pub const fn checked_map_gib(gib: usize) -> u32 {
    assert!(gib >= 1 && gib <= 4, "boot_map_gib must be 1 to 4");
    gib as u32
}

/// The page directories of gibibytes `first` .. `first + N`.
pub const fn identity_pds<const N: usize>(first: u64) -> [PageTable; N] {
    let mut tables = [PageTable([0; 512]); N];
    let mut i = 0;
    while i < N {
        tables[i] = identity_pd(first + i as u64);
        i += 1;
    }
    tables
}

/// The page table that identity maps the 2 MiB at `base` in cached, writable 4 KiB pages.
pub const fn identity_pt(base: u64) -> PageTable {
    let mut table = [0u64; 512];
    let mut i = 0;
    while i < 512 {
        table[i] = (base + i as u64 * PAGE_BYTES) | PTE_PRESENT | PTE_WRITABLE;
        i += 1;
    }
    PageTable(table)
}

/// The PDPT entry the 32-bit entry writes for gibibyte `gib` on a CPU with 1 GiB pages (the
/// assembly computes the same value; a host test compares them).
pub const fn gib_page_entry(gib: u64) -> u64 {
    identity_huge_entry(gib * PD_SPAN_BYTES)
}

/// A pointer entry (PML4, PDPT or page directory) to the next-level table at `phys`.
pub const fn table_pointer_entry(phys: u64) -> u64 {
    phys | PTE_PRESENT | PTE_WRITABLE
}

/// The end of the identity map: all of the first 512 GiB with 1 GiB pages, else the `map_gib`
/// GiBs the image's page directories cover.
pub const fn mapped_end(has_1g_pages: bool, map_gib: u64) -> u64 {
    if has_1g_pages {
        MAPPED_END_1G_PAGES
    } else {
        map_gib * PD_SPAN_BYTES
    }
}

#[cfg(target_os = "none")]
extern "C" {
    /// GiBs the image's page directories map (`entry_points!(..., boot_map_gib: N)`).
    static __TESSERA_BOOT_MAP_GIB: u32;
}

/// Whether the CPU maps 1 GiB pages (CPUID 80000001H:EDX bit 26).
pub fn has_1g_pages() -> bool {
    crate::cpuid(0x8000_0001, 0).edx & (1 << CPUID_1G_PAGES_BIT) != 0
}

/// The end of the boot identity map on this CPU: 512 GiB with 1 GiB pages, else the image's
/// page directories'.
#[cfg(target_os = "none")]
pub fn identity_map_end() -> u64 {
    // SAFETY: a `u32` static defined by `entry_points!`, never written.
    let map_gib = unsafe { __TESSERA_BOOT_MAP_GIB };
    mapped_end(has_1g_pages(), map_gib.into())
}

/// Index in the image's page table of the 4 KiB page at `addr`, if that table maps it.
pub const fn image_pt_index(addr: u64) -> Option<usize> {
    if addr < IMAGE_BASE || addr >= IMAGE_4K_END {
        return None;
    }
    Some(((addr - IMAGE_BASE) / PAGE_BYTES) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_maps_zero_as_cached_ram() {
        assert_eq!(identity_huge_entry(0), 0x83);
        assert_eq!(identity_pd(0).0[1], 0x20_0000 | 0x83);
    }

    #[test]
    fn lapic_page_and_its_gib_are_uncached_memory_above_4_gib_cached() {
        let lapic = 0xFEE0_0000u64;
        let entry = identity_pd(3).0[((lapic % PD_SPAN_BYTES) / HUGE_PAGE_BYTES) as usize];
        assert_eq!(entry & !0x1F_FFFF, 0xFEE0_0000 & !0x1F_FFFF);
        assert_ne!(entry & PTE_CACHE_DISABLE, 0);
        assert_eq!(gib_page_entry(3), (3 << 30) | 0x9B);
        assert_eq!(gib_page_entry(2), (2 << 30) | 0x83);
        assert_eq!(gib_page_entry(4), (4 << 30) | 0x83);
        assert_eq!(gib_page_entry(511), (511 << 30) | 0x83);
    }

    /// What the 32-bit entry's loop computes for gibibyte `gib` (low and high doublewords).
    fn assembly_entry(gib: u32) -> u64 {
        let mut low = (gib << 30) | 0x83;
        if gib == 3 {
            low |= 0x18;
        }
        (u64::from(gib >> 2) << 32) | u64::from(low)
    }

    #[test]
    fn the_assembly_writes_the_1_gib_entries_paging_defines() {
        for gib in 1..512u32 {
            assert_eq!(assembly_entry(gib), gib_page_entry(gib.into()), "GiB {gib}");
        }
    }

    #[test]
    fn every_directory_entry_is_identity() {
        for (gib, pd) in identity_pds::<4>(0).iter().enumerate() {
            for (i, entry) in pd.0.iter().enumerate() {
                let phys = gib as u64 * PD_SPAN_BYTES + i as u64 * HUGE_PAGE_BYTES;
                assert_eq!(entry & 0x000F_FFFF_FFE0_0000, phys);
            }
        }
        let later = identity_pds::<2>(1);
        assert_eq!(later[1].0[0] & !0xFFF, 2 << 30);
    }

    #[test]
    fn the_image_table_maps_its_2_mib_in_4_kib_pages() {
        let pt = identity_pt(IMAGE_BASE);
        assert_eq!(pt.0[0], IMAGE_BASE | 3);
        assert_eq!(pt.0[511], (IMAGE_4K_END - PAGE_BYTES) | 3);
        assert_eq!(IMAGE_PDE_OFFSET, 8);
        assert_eq!(image_pt_index(IMAGE_BASE), Some(0));
        assert_eq!(image_pt_index(IMAGE_BASE + 0x1FFF), Some(1));
        assert_eq!(image_pt_index(IMAGE_BASE - 1), None);
        assert_eq!(image_pt_index(IMAGE_4K_END), None);
    }

    #[test]
    fn mapped_end_depends_on_1_gib_pages() {
        assert_eq!(mapped_end(true, 1), 512 << 30);
        assert_eq!(mapped_end(false, 1), 1 << 30);
        assert_eq!(mapped_end(false, 4), 4 << 30);
    }

    #[test]
    fn pointer_entry_is_present_and_writable() {
        assert_eq!(table_pointer_entry(0x1000), 0x1003);
    }
}
