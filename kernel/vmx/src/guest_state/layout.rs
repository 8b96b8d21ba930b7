//! Where the hypervisor puts a partition's boot structures in guest memory: at the top of the
//! partition's memory, page tables first (PML4, PDPTs, PDs), then one page holding the GDT and TSS,
//! then one boot-info page per vCPU. The image must end below `area_guest_base`. The sizing rule is
//! [`super::boot_area`], which the manifest checks apply too, so `cargo xtask check` refuses what
//! this layout would refuse at boot.

use super::boot_area::{boot_area, BootAreaError};
use crate::guest_abi::BOOT_INFO_BYTES;

pub use super::boot_area::PAGE_BYTES;
/// A guest-physical range (the one the boot-area and EPT page-count rules take).
pub use crate::tables::GuestRange;

/// Why the boot area cannot be laid out: the sizing rule's refusal ([`BootAreaError`],
/// the one home of those reasons, which the manifest checks report too), or a fault of the writer's inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The memory cannot hold a boot area ([`super::boot_area`]'s rule).
    BootArea(BootAreaError),
    /// The page tables needed more pages than the layout counted (ranges differ from the layout's).
    PageTablesExceeded { pages: u64 },
    /// The caller's area slice is not exactly `area_bytes` long.
    AreaSize {
        expected_bytes: u64,
        found_bytes: usize,
    },
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LayoutError::BootArea(e) => write!(f, "{e}"),
            LayoutError::PageTablesExceeded { pages } => write!(
                f,
                "the guest page tables needed more than the {pages} pages the layout counted"
            ),
            LayoutError::AreaSize {
                expected_bytes,
                found_bytes,
            } => write!(
                f,
                "the area is {found_bytes} bytes, the layout has {expected_bytes}"
            ),
        }
    }
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
        let area = boot_area(ram, vcpu_count, mmio)?;
        Ok(GuestBootLayout {
            ram,
            area_guest_base: area.guest_base,
            area_bytes: area.bytes,
            page_table_pages: area.page_table_pages,
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

impl From<BootAreaError> for LayoutError {
    fn from(e: BootAreaError) -> Self {
        LayoutError::BootArea(e)
    }
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
            Err(LayoutError::BootArea(BootAreaError::MemoryNot2MiBAligned {
                base: MIB,
                bytes: 32 * MIB
            }))
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
            Err(LayoutError::BootArea(BootAreaError::MmioOverlapsRam {
                base: 31 * MIB
            }))
        );
        let crowded = GuestBootLayout::new(
            GuestRange {
                base: 0,
                bytes: 2 * MIB,
            },
            600,
            &[],
        );
        assert!(matches!(
            crowded,
            Err(LayoutError::BootArea(BootAreaError::MemoryTooSmall { .. }))
        ));
    }

    #[test]
    fn layout_agrees_with_the_boot_area_rule() {
        use super::super::boot_area::boot_area;
        let range = |base, bytes| GuestRange { base, bytes };
        let hpet = range(0xFED0_0000, 4096);
        let far = range(0x80_0000_0000, 2 * MIB);
        let cases: [(GuestRange, u64, &[GuestRange]); 8] = [
            (range(0, 32 * MIB), 2, &[]),
            (range(1024 * MIB - 2 * MIB, 4 * MIB), 4, &[hpet]),
            (range(0, 8 * MIB), 3, &[hpet, far]),
            (range(0, 2 * MIB), 508, &[]),
            (range(0, 2 * MIB), 509, &[]),
            (range(MIB, 32 * MIB), 1, &[]),
            (range(0, 0), 1, &[]),
            (range(0, 32 * MIB), 1, &[range(31 * MIB, 4096)]),
        ];
        for (ram, vcpus, mmio) in cases {
            match (
                GuestBootLayout::new(ram, vcpus, mmio),
                boot_area(ram, vcpus, mmio),
            ) {
                (Ok(layout), Ok(area)) => {
                    assert_eq!(layout.area_guest_base, area.guest_base);
                    assert_eq!(layout.area_bytes, area.bytes);
                    assert_eq!(layout.page_table_pages, area.page_table_pages);
                    assert!(layout.segment_fits(ram.base, area.guest_base - ram.base));
                    assert!(!layout.segment_fits(ram.base, area.guest_base - ram.base + 1));
                }
                (Err(layout), Err(area)) => assert_eq!(layout, LayoutError::BootArea(area)),
                other => panic!("{ram:?} {vcpus} vCPUs {mmio:?}: {other:?}"),
            }
        }
    }
}
