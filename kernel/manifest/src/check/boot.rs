//! The boot area at the top of each partition's memory (see [`crate::boot_area`]): the memory
//! must hold it. The hypervisor lays it out with the same rule at boot.

use super::Ctx;
use crate::boot_area::{boot_area, BootArea, BootAreaError};
use crate::ept::GuestRange;
use crate::model::{ChannelModel, DeviceModel};
use crate::plan::{Console, Memory};
use crate::schema::ManifestFile;
use crate::size::Bytes;

/// Each placed partition's boot area (`None` where memory or the area has errors).
pub fn check(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    memory: &[Option<Memory>],
    vcpus: &[usize],
    (devices, channels): (&[(Console, Vec<DeviceModel>)], &[ChannelModel]),
) -> Vec<Option<BootArea>> {
    let parts = manifest.partitions.iter().map(|p| p.get_ref());
    parts
        .enumerate()
        .map(|(i, part)| {
            let mem = memory[i]?;
            let mut mapped = mmio(&devices[i].1);
            mapped.extend(channel_ranges(channels, i));
            match boot_area(ram(mem), vcpus[i] as u64, &mapped) {
                Ok(area) => Some(area),
                Err(BootAreaError::MemoryTooSmall {
                    needed_bytes,
                    memory_bytes,
                }) => {
                    let message = format!(
                        "memory of partition `{}` is too small for its boot area ({})",
                        part.name.get_ref(),
                        Bytes(needed_bytes)
                    );
                    let d = cx.manifest.error(part.memory.span(), message);
                    cx.push(d.found(Bytes(memory_bytes)).accepted(format!("at least {} for the boot area (guest page tables, a GDT/TSS page and one boot-info page per vCPU, at the top of the memory), plus room for the image", Bytes(needed_bytes))).hint("raise `memory`, or give the partition fewer CPUs"));
                    None
                }
                // Unaligned memory is left unplaced and MMIO inside the memory is reported by
                // the memory and device checks (memory is whole 2 MiB blocks, so a byte overlap
                // and a shared block are the same thing).
                Err(_) => None,
            }
        })
        .collect()
}

fn ram(mem: Memory) -> GuestRange {
    GuestRange {
        base: mem.guest_base,
        bytes: mem.bytes,
    }
}

/// The MMIO ranges the guest maps: every device's, identity-mapped.
fn mmio(devices: &[DeviceModel]) -> Vec<GuestRange> {
    let ranges = devices.iter().flat_map(|d| d.mmio.iter());
    ranges
        .map(|m| GuestRange {
            base: m.base,
            bytes: m.bytes,
        })
        .collect()
}

/// The guest ranges partition `p` maps for its channels (the boot page tables map them too).
fn channel_ranges(channels: &[ChannelModel], p: usize) -> impl Iterator<Item = GuestRange> + '_ {
    channels.iter().filter_map(move |c| {
        let c = c.as_plan();
        let (base, bytes) = c.guest_span(c.role(p as u16)?);
        Some(GuestRange { base, bytes })
    })
}
