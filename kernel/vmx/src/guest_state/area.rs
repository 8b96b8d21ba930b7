//! Writing a partition's boot area (see [`super::GuestBootLayout`]) into the bytes the caller gives:
//! identity-mapping guest page tables with 2 MiB pages (RAM write-back, MMIO uncached), the GDT and
//! the TSS. Boot-info blocks go in with [`write_boot_info`].

use super::boot_area::BLOCK_2M_BYTES;
use super::gdt::{gdt_entries, tss_bytes};
use super::layout::{GuestBootLayout, GuestRange, LayoutError, PAGE_BYTES};
use crate::guest_abi::{BootInfo, BootInfoBlock, BOOT_INFO_BYTES};

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const PAGE_SIZE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Fills `area` (exactly `layout.area_bytes` long, the guest memory at `layout.area_guest_base`).
pub fn write_boot_area(
    layout: &GuestBootLayout,
    mmio: &[GuestRange],
    area: &mut [u8],
) -> Result<(), LayoutError> {
    write_boot_area_shared(layout, mmio, &[], area)
}

/// As [`write_boot_area`], also mapping `shared` ranges (channels) write-back like RAM. The
/// layout must have been made with them among its MMIO ranges, so that its tables are counted.
pub fn write_boot_area_shared(
    layout: &GuestBootLayout,
    mmio: &[GuestRange],
    shared: &[GuestRange],
    area: &mut [u8],
) -> Result<(), LayoutError> {
    if area.len() as u64 != layout.area_bytes {
        return Err(LayoutError::AreaSize {
            expected_bytes: layout.area_bytes,
            found_bytes: area.len(),
        });
    }
    area.fill(0);
    let mut tables = Tables {
        layout,
        area,
        used_pages: 1,
    };
    tables.map(layout.ram, 0)?;
    for range in mmio.iter().filter(|r| r.bytes > 0) {
        tables.map(*range, WRITE_THROUGH | CACHE_DISABLE)?;
    }
    for range in shared.iter().filter(|r| r.bytes > 0) {
        tables.map(*range, 0)?;
    }
    write_gdt(layout, area);
    Ok(())
}

/// Writes vCPU `vcpu`'s boot-info block into its page of `area` (`vcpu < layout.vcpu_count`).
pub fn write_boot_info(
    layout: &GuestBootLayout,
    area: &mut [u8],
    vcpu: u64,
    info: &BootInfo,
) -> Result<(), LayoutError> {
    info.write_to(boot_info_bytes(layout, area, vcpu)?);
    Ok(())
}

/// vCPU `vcpu`'s boot-info block in its page of `area`, to fill in place (`vcpu <
/// layout.vcpu_count`): the hypervisor builds no copy of the block on its stack.
pub fn boot_info_block<'a>(
    layout: &GuestBootLayout,
    area: &'a mut [u8],
    vcpu: u64,
) -> Result<BootInfoBlock<'a>, LayoutError> {
    Ok(BootInfoBlock::new(boot_info_bytes(layout, area, vcpu)?))
}

fn boot_info_bytes<'a>(
    layout: &GuestBootLayout,
    area: &'a mut [u8],
    vcpu: u64,
) -> Result<&'a mut [u8; BOOT_INFO_BYTES], LayoutError> {
    if area.len() as u64 != layout.area_bytes || vcpu >= layout.vcpu_count {
        return Err(LayoutError::AreaSize {
            expected_bytes: layout.area_bytes,
            found_bytes: area.len(),
        });
    }
    let offset = layout.area_offset(layout.boot_info_guest(vcpu));
    Ok((&mut area[offset..offset + BOOT_INFO_BYTES])
        .try_into()
        .expect("the range is BOOT_INFO_BYTES long"))
}

fn write_gdt(layout: &GuestBootLayout, area: &mut [u8]) {
    let gdt = layout.area_offset(layout.gdt_guest());
    for (i, entry) in gdt_entries(layout.tss_guest()).iter().enumerate() {
        write_u64(area, gdt + 8 * i, *entry);
    }
    let tss = layout.area_offset(layout.tss_guest());
    area[tss..tss + 104].copy_from_slice(&tss_bytes());
}

/// The page tables being built in the area's first `page_table_pages` pages.
struct Tables<'l, 'a> {
    layout: &'l GuestBootLayout,
    area: &'a mut [u8],
    used_pages: u64,
}

impl Tables<'_, '_> {
    /// Maps every 2 MiB block `range` touches, identity, with `cache_bits`.
    fn map(&mut self, range: GuestRange, cache_bits: u64) -> Result<(), LayoutError> {
        let first = range.base / BLOCK_2M_BYTES * BLOCK_2M_BYTES;
        for block in (first..range.end()).step_by(BLOCK_2M_BYTES as usize) {
            let pdpt = self.child(0, (block >> 39) & 0x1FF)?;
            let pd = self.child(pdpt, (block >> 30) & 0x1FF)?;
            let entry = block | PRESENT | WRITABLE | PAGE_SIZE | cache_bits;
            write_u64(
                self.area,
                (pd * PAGE_BYTES) as usize + 8 * ((block >> 21) & 0x1FF) as usize,
                entry,
            );
        }
        Ok(())
    }

    /// The page number (in the area) of the table entry `index` of page `table` points to, made if absent.
    fn child(&mut self, table: u64, index: u64) -> Result<u64, LayoutError> {
        let at = (table * PAGE_BYTES + 8 * index) as usize;
        let entry = read_u64(self.area, at);
        if entry & PRESENT != 0 {
            return Ok(((entry & ADDRESS_MASK) - self.layout.area_guest_base) / PAGE_BYTES);
        }
        let page = self.used_pages;
        if page >= self.layout.page_table_pages {
            return Err(LayoutError::PageTablesExceeded {
                pages: self.layout.page_table_pages,
            });
        }
        self.used_pages += 1;
        write_u64(
            self.area,
            at,
            (self.layout.area_guest_base + page * PAGE_BYTES) | PRESENT | WRITABLE,
        );
        Ok(page)
    }
}

fn write_u64(area: &mut [u8], at: usize, value: u64) {
    area[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn read_u64(area: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(area[at..at + 8].try_into().expect("8 bytes"))
}

/// Translates `linear` through the guest page tables in `area` (identity expected); for tests and checks.
pub fn guest_translate(layout: &GuestBootLayout, area: &[u8], linear: u64) -> Option<(u64, u64)> {
    let mut table = layout.pml4_guest();
    for shift in [39u32, 30, 21] {
        if table < layout.area_guest_base || table >= layout.gdt_guest() {
            return None;
        }
        let at = layout.area_offset(table) + 8 * ((linear >> shift) & 0x1FF) as usize;
        let entry = read_u64(area, at);
        if entry & PRESENT == 0 {
            return None;
        }
        if shift == 21 {
            let flags = entry & !ADDRESS_MASK;
            return Some((
                (entry & ADDRESS_MASK & !(BLOCK_2M_BYTES - 1)) | (linear & (BLOCK_2M_BYTES - 1)),
                flags,
            ));
        }
        table = entry & ADDRESS_MASK;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    const MIB: u64 = 1 << 20;

    fn built(ram: GuestRange, mmio: &[GuestRange]) -> (GuestBootLayout, std::vec::Vec<u8>) {
        let layout = GuestBootLayout::new(ram, 2, mmio).unwrap();
        let mut area = vec![0xCC; layout.area_bytes as usize];
        write_boot_area(&layout, mmio, &mut area).unwrap();
        (layout, area)
    }

    #[test]
    fn ram_is_identity_mapped_with_2mib_pages() {
        let (layout, area) = built(
            GuestRange {
                base: 0x4000_0000,
                bytes: 32 * MIB,
            },
            &[],
        );
        let (host, flags) = guest_translate(&layout, &area, 0x4012_3456).unwrap();
        assert_eq!(host, 0x4012_3456);
        assert_eq!(flags, PRESENT | WRITABLE | PAGE_SIZE);
        assert!(guest_translate(&layout, &area, 0x4000_0000 + 32 * MIB).is_none());
        assert!(guest_translate(&layout, &area, 0x3FFF_FFFF).is_none());
    }

    #[test]
    fn mmio_blocks_are_uncached() {
        let mmio = [GuestRange {
            base: 0xFEC0_0000,
            bytes: 4096,
        }];
        let (layout, area) = built(
            GuestRange {
                base: 0,
                bytes: 8 * MIB,
            },
            &mmio,
        );
        let (host, flags) = guest_translate(&layout, &area, 0xFEC0_0020).unwrap();
        assert_eq!(host, 0xFEC0_0020);
        assert_eq!(
            flags & (CACHE_DISABLE | WRITE_THROUGH),
            CACHE_DISABLE | WRITE_THROUGH
        );
    }

    #[test]
    fn gdt_tss_and_boot_info_land_in_their_pages() {
        let (layout, mut area) = built(
            GuestRange {
                base: 0,
                bytes: 8 * MIB,
            },
            &[],
        );
        let gdt = layout.area_offset(layout.gdt_guest());
        assert_eq!(read_u64(&area, gdt + 8), super::super::gdt::CODE_DESCRIPTOR);
        let tss = layout.area_offset(layout.tss_guest());
        assert_eq!(&area[tss + 102..tss + 104], &[104, 0]);
        let info = BootInfo {
            vcpu_index: 1,
            vcpu_count: 2,
            ..BootInfo::EMPTY
        };
        write_boot_info(&layout, &mut area, 1, &info).unwrap();
        assert!(
            write_boot_info(&layout, &mut area, 2, &info).is_err(),
            "only two vCPUs"
        );
        let at = layout.area_offset(layout.boot_info_guest(1));
        assert_eq!(&area[at..at + 8], b"TESSBOOT");
        assert_eq!(at + 4096, area.len());
    }

    #[test]
    fn ranges_beyond_the_layout_are_refused_not_overwritten() {
        let layout = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 8 * MIB,
            },
            1,
            &[],
        )
        .unwrap();
        let mut area = vec![0; layout.area_bytes as usize];
        let far = [GuestRange {
            base: 0x80_0000_0000,
            bytes: 4096,
        }];
        let error = write_boot_area(&layout, &far, &mut area);
        assert_eq!(error, Err(LayoutError::PageTablesExceeded { pages: 3 }));
    }

    #[test]
    fn wrong_area_size_is_refused() {
        let layout = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 8 * MIB,
            },
            1,
            &[],
        )
        .unwrap();
        let mut area = vec![0; 4096];
        let error = write_boot_area(&layout, &[], &mut area);
        assert_eq!(
            error,
            Err(LayoutError::AreaSize {
                expected_bytes: layout.area_bytes,
                found_bytes: 4096
            })
        );
    }
}
