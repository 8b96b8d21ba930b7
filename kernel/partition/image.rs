//! Placing a partition's image in its memory: each planned `PT_LOAD` segment copied, its tail
//! zeroed, and the boot area (guest page tables, GDT/TSS, one boot-info block per vCPU) written at
//! the top of the memory.

use core::fmt;
use tessera_manifest::{Partition, Plan};
use tessera_vmx::guest_abi::{fill_boot_info, BootInfo, BootInfoError};
use tessera_vmx::guest_state::{
    write_boot_area, write_boot_info, GuestBootLayout, GuestRange, LayoutError,
};

/// Most MMIO ranges one partition maps.
pub const MAX_MMIO: usize = 16;

/// Why an image or boot area could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    NoImage,
    /// A segment lies outside the memory below the boot area, or outside the file.
    Segment {
        guest_phys: u64,
        bytes: u64,
    },
    Layout(LayoutError),
    BootInfo(BootInfoError),
    TooManyMmio,
}

impl fmt::Display for PlaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaceError::NoImage => write!(f, "the plan carries no image (built with TESSERA_IMAGES=skip)"),
            PlaceError::Segment { guest_phys, bytes } => write!(
                f,
                "image segment at guest-physical {guest_phys:#x} ({bytes} bytes) does not fit below the boot area"
            ),
            PlaceError::Layout(e) => write!(f, "boot area: {e:?}"),
            PlaceError::BootInfo(e) => write!(f, "boot-info block: {e:?}"),
            PlaceError::TooManyMmio => write!(f, "more than {MAX_MMIO} MMIO ranges"),
        }
    }
}

/// The partition's MMIO ranges (guest-physical = host-physical).
pub fn mmio_ranges(
    part: &Partition<'_>,
) -> Result<heapless::Vec<GuestRange, MAX_MMIO>, PlaceError> {
    let mut out = heapless::Vec::new();
    for m in part.devices.iter().flat_map(|d| d.mmio.iter()) {
        let range = GuestRange {
            base: m.base,
            bytes: m.bytes,
        };
        out.push(range).map_err(|_| PlaceError::TooManyMmio)?;
    }
    Ok(out)
}

/// The boot-area layout of `part` (the same on every CPU: it only depends on the plan).
pub fn layout(part: &Partition<'_>) -> Result<GuestBootLayout, PlaceError> {
    let ram = GuestRange {
        base: part.memory.guest_base,
        bytes: part.memory.bytes,
    };
    let mmio = mmio_ranges(part)?;
    GuestBootLayout::new(ram, part.vcpus.len() as u64, &mmio).map_err(PlaceError::Layout)
}

/// Zeroes `memory` (the partition's whole RAM), copies the image and writes the boot area.
pub fn place(plan: &Plan<'_>, index: u16, memory: &mut [u8]) -> Result<(), PlaceError> {
    let part = &plan.partitions[index as usize];
    let layout = layout(part)?;
    memory.fill(0);
    let image = part.image.ok_or(PlaceError::NoImage)?;
    for s in image.segments {
        let bad = PlaceError::Segment {
            guest_phys: s.guest_phys,
            bytes: s.memory_bytes,
        };
        if !layout.segment_fits(s.guest_phys, s.memory_bytes) || s.file_bytes > s.memory_bytes {
            return Err(bad);
        }
        let from = s.file_offset as usize;
        let bytes = image
            .bytes
            .get(from..from + s.file_bytes as usize)
            .ok_or(bad)?;
        let at = (s.guest_phys - part.memory.guest_base) as usize;
        memory[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let start = (layout.area_guest_base - part.memory.guest_base) as usize;
    let area = &mut memory[start..start + layout.area_bytes as usize];
    write_boot_area(&layout, &mmio_ranges(part)?, area).map_err(PlaceError::Layout)?;
    let mut info = BootInfo::EMPTY;
    for vcpu in 0..part.vcpus.len() as u16 {
        fill_boot_info(plan, index, vcpu, &mut info).map_err(PlaceError::BootInfo)?;
        write_boot_info(&layout, area, vcpu as u64, &info).map_err(PlaceError::Layout)?;
    }
    Ok(())
}
