//! Placing a partition's image in its memory: each planned `PT_LOAD` segment copied from the load
//! image (the segments' file contents, packed at build time), its tail zeroed, a Hermit
//! application relocated and given its boot information (`super::hermit`), and the boot area
//! (guest page tables, GDT/TSS, one boot-info block per vCPU) written at the top of the memory.

use crate::plan_vmx::fill_boot_info;
use core::fmt;
use tessera_manifest::hermit::relocate::RelocError;
use tessera_manifest::{Partition, Plan};
use tessera_vmx::guest_abi::{BootInfoError, BootInfoFill, BootTimer};
use tessera_vmx::guest_state::{
    boot_info_block, write_boot_area_shared, GuestBootLayout, GuestRange, LayoutError,
};

/// Most MMIO ranges one partition maps.
pub const MAX_MMIO: usize = 16;

/// Why an image or boot area could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    NoImage,
    /// A segment lies outside the memory below the boot area, or outside the load image.
    Segment {
        guest_phys: u64,
        bytes: u64,
    },
    Layout(LayoutError),
    BootInfo(BootInfoError),
    TooManyMmio,
    /// A Hermit application's relocation could not be applied.
    Relocation(RelocError),
}

impl fmt::Display for PlaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaceError::NoImage => write!(f, "the plan carries no image (built with TESSERA_IMAGES=skip)"),
            PlaceError::Segment { guest_phys, bytes } => write!(
                f,
                "image segment at guest-physical {guest_phys:#x} ({bytes} bytes) does not fit below the boot area"
            ),
            PlaceError::Layout(e) => write!(f, "boot area: {e}"),
            PlaceError::BootInfo(e) => write!(f, "boot-info block: {e}"),
            PlaceError::TooManyMmio => write!(f, "more than {MAX_MMIO} MMIO ranges"),
            PlaceError::Relocation(e) => write!(f, "Hermit relocation: {e}"),
        }
    }
}

/// The partition's MMIO ranges (guest-physical = host-physical).
pub fn mmio_ranges(
    part: &Partition<'_>,
) -> Result<heapless::Vec<GuestRange, MAX_MMIO>, PlaceError> {
    let mut out = heapless::Vec::new();
    push_mmio(part, &mut out)?;
    Ok(out)
}

/// The guest ranges partition `index` maps for its channels (write-back in its page tables).
pub fn channel_ranges(
    plan: &Plan<'_>,
    index: u16,
) -> Result<heapless::Vec<GuestRange, MAX_MMIO>, PlaceError> {
    let mut out = heapless::Vec::new();
    push_channels(plan, index, &mut out)?;
    Ok(out)
}

/// Appends the partition's MMIO ranges to `out`, at most [`MAX_MMIO`] of them.
fn push_mmio<const N: usize>(
    part: &Partition<'_>,
    out: &mut heapless::Vec<GuestRange, N>,
) -> Result<(), PlaceError> {
    let ranges = part.devices.iter().flat_map(|d| d.mmio.iter());
    push_at_most_max(
        ranges.map(|m| GuestRange {
            base: m.base,
            bytes: m.bytes,
        }),
        out,
    )
}

/// Appends the guest ranges of partition `index`'s channels to `out`, at most [`MAX_MMIO`].
fn push_channels<const N: usize>(
    plan: &Plan<'_>,
    index: u16,
    out: &mut heapless::Vec<GuestRange, N>,
) -> Result<(), PlaceError> {
    let ranges = tessera_manifest::channel::of_partition(plan, index).map(|(c, role)| {
        let (base, bytes) = c.guest_span(role);
        GuestRange { base, bytes }
    });
    push_at_most_max(ranges, out)
}

fn push_at_most_max<const N: usize>(
    ranges: impl Iterator<Item = GuestRange>,
    out: &mut heapless::Vec<GuestRange, N>,
) -> Result<(), PlaceError> {
    for (i, range) in ranges.enumerate() {
        if i == MAX_MMIO {
            return Err(PlaceError::TooManyMmio);
        }
        out.push(range).map_err(|_| PlaceError::TooManyMmio)?;
    }
    Ok(())
}

/// The boot-area layout of partition `index` (the same on every CPU: it only depends on the
/// plan); its page tables map the memory, the MMIO and the channels. One list of ranges on the
/// stack (it runs on host stacks too).
pub fn layout(plan: &Plan<'_>, index: u16) -> Result<GuestBootLayout, PlaceError> {
    let part = &plan.partitions[usize::from(index)];
    let ram = GuestRange {
        base: part.memory.guest_base,
        bytes: part.memory.bytes,
    };
    let mut mapped: heapless::Vec<GuestRange, { 2 * MAX_MMIO }> = heapless::Vec::new();
    push_mmio(part, &mut mapped)?;
    push_channels(plan, index, &mut mapped)?;
    GuestBootLayout::new(ram, part.vcpus.len() as u64, &mapped).map_err(PlaceError::Layout)
}

/// Zeroes `memory` (the partition's whole RAM), copies the image and writes the boot area (each
/// vCPU's boot-info block states `timer`); returns the boot area's layout, which the partition's
/// vCPUs configure their VMCS from (derived once, on the boot CPU).
pub fn place(
    plan: &Plan<'_>,
    index: u16,
    memory: &mut [u8],
    timer: BootTimer,
) -> Result<GuestBootLayout, PlaceError> {
    let part = &plan.partitions[index as usize];
    let layout = layout(plan, index)?;
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
        let from = s.offset as usize;
        let bytes = image
            .bytes
            .get(from..from + s.file_bytes as usize)
            .ok_or(bad)?;
        let at = (s.guest_phys - part.memory.guest_base) as usize;
        memory[at..at + bytes.len()].copy_from_slice(bytes);
    }
    if let Some(boot) = &image.hermit {
        super::hermit::place(memory, part.memory.guest_base, image.bytes, boot)?;
    }
    let start = (layout.area_guest_base - part.memory.guest_base) as usize;
    let area = &mut memory[start..start + layout.area_bytes as usize];
    let shared = channel_ranges(plan, index)?;
    write_boot_area_shared(&layout, &mmio_ranges(part)?, &shared, area)
        .map_err(PlaceError::Layout)?;
    for vcpu in 0..part.vcpus.len() as u16 {
        // Filled in place: no copy of the 3.7 KiB block on the boot CPU's stack.
        let mut info =
            boot_info_block(&layout, area, u64::from(vcpu)).map_err(PlaceError::Layout)?;
        fill_boot_info(plan, index, vcpu, &mut info).map_err(PlaceError::BootInfo)?;
        info.set_timer(timer);
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_manifest::{
        Console, Device, HostRange, Image, Ipiv, IpivMode, Memory, Partition, PidTable, PortRange,
        Segment, Vcpu, VcpuRef,
    };
    use tessera_vmx::guest_abi::BootInfo;

    const MIB: u64 = 1 << 20;
    const TIMER: BootTimer = BootTimer {
        frequency: tessera_vmx::apic_timer::TimerFrequency::from_tsc_hz(50_000_000),
        path: tessera_vmx::guest_abi::TimerPath::Trapped,
    };
    static FILE: [u8; 64] = [0x90; 64];
    static VCPUS: [Vcpu<'static>; 1] = [Vcpu {
        board_cpu: "cpu0",
        physical_apic_id: 0,
        virtual_apic_id: 0,
        starts_at_boot: true,
    }];
    static ENTRIES: [Option<VcpuRef>; 1] = [Some(VcpuRef {
        partition: 0,
        vcpu: 0,
    })];

    fn plan(segments: &'static [Segment]) -> Plan<'static> {
        let part = Partition {
            name: "solo",
            vcpus: &VCPUS,
            memory: Memory {
                guest_base: 0,
                host_base: 16 * MIB,
                bytes: 4 * MIB,
            },
            image: Some(Image {
                bytes: &FILE,
                entry: 0x1000,
                segments,
                hermit: None,
            }),
            console: Console::Hypercall,
            console_weight: 1,
            timer: tessera_manifest::TimerMode::Preferred,
            devices: &[],
            routes: &[],
            pid_table: PidTable {
                entries: &ENTRIES,
                last_index: 0,
            },
        };
        Plan {
            board: "test",
            board_cpus: &[],
            ipiv: Ipiv {
                mode: IpivMode::Off,
                enabled: false,
            },
            tsc_hz: None,
            bus_lock_exit: false,
            channels: &[],
            hypervisor: HostRange {
                base: 2 * MIB,
                bytes: 14 * MIB,
            },
            console: Device {
                name: "com1",
                ports: &[PortRange {
                    base: 0x3F8,
                    count: 8,
                }],
                mmio: &[],
                irqs: &[4],
                dma: false,
            },
            partitions: Box::leak(Box::new([part])),
            heap: tessera_manifest::HeapLayout::EMPTY,
        }
    }

    #[test]
    fn segments_are_copied_their_tail_zeroed_and_boot_info_written() {
        static SEGMENTS: [Segment; 1] = [Segment {
            guest_phys: 0x1000,
            offset: 8,
            file_bytes: 16,
            memory_bytes: 48,
        }];
        let plan = plan(&SEGMENTS);
        let mut memory = vec![0xCC; 4 * MIB as usize];
        place(&plan, 0, &mut memory, TIMER).expect("fits");
        assert!(memory[0x1000..0x1010].iter().all(|&b| b == 0x90));
        assert!(memory[0x1010..0x1030].iter().all(|&b| b == 0));
        assert!(
            memory[..0x1000].iter().all(|&b| b == 0),
            "RAM outside the image is zeroed"
        );
        let layout = layout(&plan, 0).unwrap();
        let info = layout.boot_info_guest(0) as usize;
        assert_eq!(&memory[info..info + 8], b"TESSBOOT");
        let tsc_hz = info + core::mem::offset_of!(BootInfo, tsc_hz);
        assert_eq!(&memory[tsc_hz..tsc_hz + 8], &50_000_000u64.to_le_bytes());
        assert_eq!(
            layout.area_guest_base + layout.area_bytes,
            4 * MIB,
            "boot area at the top"
        );
        assert!(
            memory[layout.pml4_guest() as usize..]
                .iter()
                .any(|&b| b != 0),
            "page tables written"
        );
    }

    #[test]
    fn a_segment_into_the_boot_area_is_refused() {
        static SEGMENTS: [Segment; 1] = [Segment {
            guest_phys: 4 * MIB - 4096,
            offset: 0,
            file_bytes: 16,
            memory_bytes: 16,
        }];
        let plan = plan(&SEGMENTS);
        let mut memory = vec![0; 4 * MIB as usize];
        assert_eq!(
            place(&plan, 0, &mut memory, TIMER),
            Err(PlaceError::Segment {
                guest_phys: 4 * MIB - 4096,
                bytes: 16
            })
        );
    }
}
