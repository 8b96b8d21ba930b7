//! The size and place of a partition's boot area, shared by the manifest checks
//! (`tessera_manifest::boot_area` re-exports it) and the hypervisor's layout
//! ([`super::GuestBootLayout`]), so the two cannot disagree.
//!
//! The rule:
//! - The hypervisor writes identity guest page tables (2 MiB pages), one page holding the GDT and
//!   TSS, and one boot-info page per vCPU at the top of the partition's memory.
//! - The memory's guest base and size are non-zero multiples of 2 MiB, and no MMIO range shares a
//!   2 MiB block with it (each block is mapped with one page-table entry).
//! - Page-table pages: 1 PML4, plus one PDPT per 512 GiB region and one PD per 1 GiB region that
//!   the memory or an MMIO range touches.
//! - The area is (page-table pages + 1 + vCPUs) pages of 4 KiB and ends where the memory ends; the
//!   memory must hold it, and image segments must end at or below its first byte.

use crate::tables::ept_pages::{distinct, touched, GuestRange};
use crate::tables::{PAGE_2M_BYTES, PAGE_4K_BYTES};

/// Bytes of a page.
pub const PAGE_BYTES: u64 = PAGE_4K_BYTES;
/// Bytes of a guest page-table 2 MiB page; memory bases and sizes are multiples of it.
pub const BLOCK_2M_BYTES: u64 = PAGE_2M_BYTES;

const SHIFT_1G: u32 = 30;
const SHIFT_512G: u32 = 39;

/// Why a partition's memory cannot hold its boot area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootAreaError {
    /// Memory base or size not a non-zero multiple of 2 MiB.
    MemoryNot2MiBAligned { base: u64, bytes: u64 },
    /// The boot area needs more than the partition's memory.
    MemoryTooSmall {
        needed_bytes: u64,
        memory_bytes: u64,
    },
    /// An MMIO range shares a 2 MiB block with the memory.
    MmioOverlapsRam { base: u64 },
}

impl core::fmt::Display for BootAreaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BootAreaError::MemoryNot2MiBAligned { base, bytes } => write!(
                f,
                "memory of {bytes:#x} bytes at {base:#x} is not a non-zero multiple of 2 MiB"
            ),
            BootAreaError::MemoryTooSmall {
                needed_bytes,
                memory_bytes,
            } => write!(
                f,
                "the boot area needs {needed_bytes} bytes, the memory has {memory_bytes}"
            ),
            BootAreaError::MmioOverlapsRam { base } => {
                write!(
                    f,
                    "MMIO range {base:#x} shares a 2 MiB block with the memory"
                )
            }
        }
    }
}

/// Where the boot area of one partition lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootArea {
    /// First guest-physical byte (the PML4); images end at or below it.
    pub guest_base: u64,
    pub bytes: u64,
    /// PML4 + PDPTs + PDs.
    pub page_table_pages: u64,
}

/// The boot area for memory `ram`, `vcpu_count` vCPUs and the MMIO ranges the guest maps.
pub fn boot_area(
    ram: GuestRange,
    vcpu_count: u64,
    mmio: &[GuestRange],
) -> Result<BootArea, BootAreaError> {
    let aligned = |v: u64| v.is_multiple_of(BLOCK_2M_BYTES);
    if !aligned(ram.base) || !aligned(ram.bytes) || ram.bytes == 0 {
        return Err(BootAreaError::MemoryNot2MiBAligned {
            base: ram.base,
            bytes: ram.bytes,
        });
    }
    if let Some(range) = mmio.iter().find(|m| shares_a_block(m, &ram)) {
        return Err(BootAreaError::MmioOverlapsRam { base: range.base });
    }
    let page_table_pages = page_table_pages(ram, mmio);
    let needed_bytes = page_table_pages
        .saturating_add(1)
        .saturating_add(vcpu_count)
        .saturating_mul(PAGE_BYTES);
    if needed_bytes > ram.bytes {
        return Err(BootAreaError::MemoryTooSmall {
            needed_bytes,
            memory_bytes: ram.bytes,
        });
    }
    Ok(BootArea {
        guest_base: ram.end() - needed_bytes,
        bytes: needed_bytes,
        page_table_pages,
    })
}

/// Whether the 2 MiB blocks `a` touches include one of `b`'s.
fn shares_a_block(a: &GuestRange, b: &GuestRange) -> bool {
    let blocks = |r: &GuestRange| (r.base / BLOCK_2M_BYTES, (r.end() - 1) / BLOCK_2M_BYTES);
    let ((a0, a1), (b0, b1)) = (blocks(a), blocks(b));
    a.bytes > 0 && b.bytes > 0 && a0 <= b1 && b0 <= a1
}

/// 1 PML4 + 1 PDPT per 512 GiB touched + 1 PD per 1 GiB touched by the memory or an MMIO range.
fn page_table_pages(ram: GuestRange, mmio: &[GuestRange]) -> u64 {
    let ranges = core::iter::once(ram)
        .chain(mmio.iter().copied())
        .filter(|r| r.bytes > 0);
    let pdpts = distinct(ranges.clone().map(|r| touched(r, SHIFT_512G)));
    let pds = distinct(ranges.map(|r| touched(r, SHIFT_1G)));
    1 + pdpts + pds
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn ram(base: u64, bytes: u64) -> GuestRange {
        GuestRange { base, bytes }
    }

    #[test]
    fn area_ends_at_the_top_of_memory() {
        let area = boot_area(ram(0, 32 * MIB), 2, &[]).unwrap();
        assert_eq!(area.page_table_pages, 3);
        assert_eq!(area.bytes, 6 * PAGE_BYTES);
        assert_eq!(area.guest_base + area.bytes, 32 * MIB);
    }

    #[test]
    fn mmio_and_memory_across_regions_add_tables() {
        let hpet = ram(0xFED0_0000, 4096);
        assert_eq!(
            boot_area(ram(0, 8 * MIB), 1, &[hpet])
                .unwrap()
                .page_table_pages,
            4
        );
        let across = boot_area(ram(GIB - 2 * MIB, 4 * MIB), 1, &[]).unwrap();
        assert_eq!(across.page_table_pages, 4);
        let far = boot_area(ram(0, 2 * MIB), 1, &[ram(512 * GIB, 4096)]).unwrap();
        assert_eq!(far.page_table_pages, 5);
    }

    #[test]
    fn unaligned_or_empty_memory_is_refused() {
        for (base, bytes) in [(MIB, 32 * MIB), (0, 3 * MIB), (0, 0)] {
            assert_eq!(
                boot_area(ram(base, bytes), 1, &[]),
                Err(BootAreaError::MemoryNot2MiBAligned { base, bytes })
            );
        }
    }

    #[test]
    fn mmio_in_a_memory_block_is_refused() {
        let inside = [ram(31 * MIB, 4096)];
        assert_eq!(
            boot_area(ram(0, 32 * MIB), 1, &inside),
            Err(BootAreaError::MmioOverlapsRam { base: 31 * MIB })
        );
        let next_block = [ram(32 * MIB, 4096)];
        assert!(boot_area(ram(0, 32 * MIB), 1, &next_block).is_ok());
    }

    #[test]
    fn memory_must_hold_the_area() {
        // 2 MiB = 512 pages: 3 tables + 1 GDT/TSS page leave room for 508 vCPUs.
        assert!(boot_area(ram(0, 2 * MIB), 508, &[]).is_ok());
        assert_eq!(
            boot_area(ram(0, 2 * MIB), 509, &[]),
            Err(BootAreaError::MemoryTooSmall {
                needed_bytes: 2 * MIB + PAGE_BYTES,
                memory_bytes: 2 * MIB
            })
        );
        assert!(matches!(
            boot_area(ram(0, 2 * MIB), u64::MAX, &[]),
            Err(BootAreaError::MemoryTooSmall { .. })
        ));
    }
}
