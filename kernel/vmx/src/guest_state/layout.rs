//! Where the hypervisor puts a partition's boot structures in guest memory: at the top of the
//! partition's memory, page tables first (PML4, PDPTs, PDs), then one page holding the GDT and TSS,
//! then one boot-info page per vCPU. The image must end below `area_guest_base`.

use crate::guest_abi::BOOT_INFO_BYTES;

/// Bytes of a page.
pub const PAGE_BYTES: u64 = 4096;
const BLOCK_2M_BYTES: u64 = 1 << 21;

/// A guest-physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestRange {
    pub base: u64,
    pub bytes: u64,
}

impl GuestRange {
    pub const fn end(&self) -> u64 {
        self.base + self.bytes
    }

    /// The 2 MiB blocks the range touches, as block numbers `first..=last`.
    const fn blocks(&self) -> (u64, u64) {
        (
            self.base / BLOCK_2M_BYTES,
            (self.end() - 1) / BLOCK_2M_BYTES,
        )
    }
}

/// Why the boot area cannot be laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Memory base or size not a multiple of 2 MiB (guest page tables use 2 MiB pages).
    MemoryNot2MiBAligned { base: u64, bytes: u64 },
    /// The boot area needs more than the partition's memory.
    MemoryTooSmall {
        needed_bytes: u64,
        memory_bytes: u64,
    },
    /// An MMIO range shares a 2 MiB block with RAM.
    MmioOverlapsRam { base: u64 },
    /// The page tables needed more pages than the layout counted (ranges differ from the layout's).
    PageTablesExceeded { pages: u64 },
    /// The caller's area slice is not exactly `area_bytes` long.
    AreaSize {
        expected_bytes: u64,
        found_bytes: usize,
    },
}

/// The boot area of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestBootLayout {
    pub ram: GuestRange,
    /// First guest-physical byte of the boot area (the PML4).
    pub area_guest_base: u64,
    pub area_bytes: u64,
    /// PML4 + PDPTs + PDs.
    pub page_table_pages: u64,
    pub vcpu_count: u64,
}

impl GuestBootLayout {
    /// Lays out the area for `ram` (2 MiB aligned), `vcpu_count` vCPUs and the MMIO ranges the guest maps.
    pub fn new(ram: GuestRange, vcpu_count: u64, mmio: &[GuestRange]) -> Result<Self, LayoutError> {
        if !ram.base.is_multiple_of(BLOCK_2M_BYTES)
            || !ram.bytes.is_multiple_of(BLOCK_2M_BYTES)
            || ram.bytes == 0
        {
            return Err(LayoutError::MemoryNot2MiBAligned {
                base: ram.base,
                bytes: ram.bytes,
            });
        }
        if let Some(range) = mmio.iter().find(|m| overlaps_blocks(m, &ram)) {
            return Err(LayoutError::MmioOverlapsRam { base: range.base });
        }
        let page_table_pages = page_table_pages(ram, mmio);
        let area_bytes = (page_table_pages + 1 + vcpu_count) * PAGE_BYTES;
        if area_bytes > ram.bytes {
            return Err(LayoutError::MemoryTooSmall {
                needed_bytes: area_bytes,
                memory_bytes: ram.bytes,
            });
        }
        Ok(GuestBootLayout {
            ram,
            area_guest_base: ram.end() - area_bytes,
            area_bytes,
            page_table_pages,
            vcpu_count,
        })
    }

    /// Guest CR3: the PML4.
    pub const fn pml4_guest(&self) -> u64 {
        self.area_guest_base
    }

    /// The page holding the GDT (first 256 bytes) and the TSS (from byte 256).
    pub const fn gdt_guest(&self) -> u64 {
        self.area_guest_base + self.page_table_pages * PAGE_BYTES
    }

    pub const fn tss_guest(&self) -> u64 {
        self.gdt_guest() + super::gdt::TSS_OFFSET_BYTES
    }

    /// vCPU `vcpu`'s boot-info block (passed in RDI at entry).
    pub const fn boot_info_guest(&self, vcpu: u64) -> u64 {
        self.gdt_guest() + (1 + vcpu) * PAGE_BYTES
    }

    /// Offset of guest-physical `guest` inside the area slice.
    pub const fn area_offset(&self, guest: u64) -> usize {
        (guest - self.area_guest_base) as usize
    }

    /// Whether an image segment `[guest, guest + bytes)` lies in RAM below the boot area.
    pub const fn segment_fits(&self, guest: u64, bytes: u64) -> bool {
        guest >= self.ram.base && guest.saturating_add(bytes) <= self.area_guest_base
    }
}

const _: () = assert!(BOOT_INFO_BYTES as u64 <= PAGE_BYTES);

fn overlaps_blocks(a: &GuestRange, b: &GuestRange) -> bool {
    let ((a0, a1), (b0, b1)) = (a.blocks(), b.blocks());
    a.bytes > 0 && a0 <= b1 && b0 <= a1
}

/// 1 PML4 + 1 PDPT per 512 GiB touched + 1 PD per 1 GiB touched by RAM or an MMIO range's blocks.
fn page_table_pages(ram: GuestRange, mmio: &[GuestRange]) -> u64 {
    let ranges = || {
        core::iter::once(ram)
            .chain(mmio.iter().copied())
            .filter(|r| r.bytes > 0)
    };
    1 + distinct_regions(ranges, 39) + distinct_regions(ranges, 30)
}

/// Distinct `1 << shift`-byte regions touched by the ranges.
fn distinct_regions<I: Iterator<Item = GuestRange>>(ranges: impl Fn() -> I, shift: u32) -> u64 {
    let mut count = 0;
    for (i, range) in ranges().enumerate() {
        for region in range.base >> shift..=(range.end() - 1) >> shift {
            let seen = ranges()
                .take(i)
                .any(|r| r.base >> shift <= region && region <= (r.end() - 1) >> shift);
            count += u64::from(!seen);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn small_partition_area_sits_at_the_top() {
        let layout = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 32 * MIB,
            },
            2,
            &[],
        )
        .unwrap();
        assert_eq!(layout.page_table_pages, 3);
        assert_eq!(layout.area_bytes, (3 + 1 + 2) * PAGE_BYTES);
        assert_eq!(layout.area_guest_base, 32 * MIB - 6 * PAGE_BYTES);
        assert_eq!(layout.gdt_guest(), layout.area_guest_base + 3 * PAGE_BYTES);
        assert_eq!(layout.boot_info_guest(1), 32 * MIB - PAGE_BYTES);
        assert!(layout.segment_fits(0x10_0000, 0x1000));
        assert!(!layout.segment_fits(32 * MIB - 7 * PAGE_BYTES, 2 * PAGE_BYTES));
    }

    #[test]
    fn mmio_in_another_gigabyte_adds_a_pd() {
        let layout = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 32 * MIB,
            },
            1,
            &[GuestRange {
                base: 0xFEC0_0000,
                bytes: 4096,
            }],
        )
        .unwrap();
        assert_eq!(layout.page_table_pages, 4);
    }

    #[test]
    fn bad_memory_is_refused() {
        let unaligned = GuestBootLayout::new(
            GuestRange {
                base: MIB,
                bytes: 32 * MIB,
            },
            1,
            &[],
        );
        assert_eq!(
            unaligned,
            Err(LayoutError::MemoryNot2MiBAligned {
                base: MIB,
                bytes: 32 * MIB
            })
        );
        let mmio = [GuestRange {
            base: 31 * MIB,
            bytes: 4096,
        }];
        let overlap = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 32 * MIB,
            },
            1,
            &mmio,
        );
        assert_eq!(
            overlap,
            Err(LayoutError::MmioOverlapsRam { base: 31 * MIB })
        );
        let crowded = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 2 * MIB,
            },
            600,
            &[],
        );
        assert!(matches!(crowded, Err(LayoutError::MemoryTooSmall { .. })));
    }
}
