//! Channels, second half: where each side sees the ring (guest-physical, clear of the partition's
//! memory, its MMIO and its other channels), where the ring lives (host-physical, in board RAM,
//! clear of the hypervisor, every partition and every other channel), and the refusal of a
//! participant whose unconfined DMA device would make the read-only promise false.

use super::board::{overlaps, show};
use super::channels::{Resolved, PAGE_BYTES};
use super::memory::MAX_ADDRESS;
use super::{BoardFacts, Ctx};
use crate::boot_area::BLOCK_2M_BYTES;
use crate::channel::{ChannelReader, ACK_PAGE_BYTES};
use crate::model::{ChannelModel, DeviceModel};
use crate::plan::{Console, HostRange, Memory};
use crate::schema::ManifestFile;
use crate::size::Bytes;
use toml::Spanned;

/// What the placement reads from the other checks.
pub struct Inputs<'a> {
    pub board: &'a BoardFacts,
    pub names: &'a [String],
    pub memory: &'a [Option<Memory>],
    pub devices: &'a [(Console, Vec<DeviceModel>)],
}

/// Something a channel's guest range must stay clear of.
struct Blocker {
    range: HostRange,
    what: String,
    /// True: the 2 MiB blocks it touches are the guest page tables' (memory, MMIO).
    whole_blocks: bool,
}

/// Places every resolved channel; returns the complete ones and the planner's notes.
pub fn place(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    input: &Inputs<'_>,
    resolved: &[Resolved],
) -> (Vec<ChannelModel>, Vec<String>) {
    let mut guest: Vec<Vec<Blocker>> = (0..input.names.len()).map(|p| blockers(input, p)).collect();
    let mut host_busy: Vec<(HostRange, String)> = input
        .memory
        .iter()
        .zip(input.names)
        .filter_map(|(m, n)| {
            m.map(|m| {
                (
                    HostRange {
                        base: m.host_base,
                        bytes: m.bytes,
                    },
                    format!("the memory of partition `{n}`"),
                )
            })
        })
        .chain([(input.board.hypervisor, "the hypervisor".to_string())])
        .collect();
    let (mut out, mut notes) = (Vec::new(), Vec::new());
    for c in resolved {
        let spec = manifest.channels[c.index].get_ref();
        let name = spec.name.get_ref();
        if !dma_free(cx, manifest, input, c)
            || [c.writer]
                .iter()
                .chain(&c.readers)
                .any(|&p| input.memory[p].is_none())
        {
            continue;
        }
        let host_bytes = c.ring_bytes + ACK_PAGE_BYTES * c.readers.len() as u64;
        let writer_span = (c.writer, host_bytes);
        let w = side(
            cx,
            input,
            &mut guest,
            name,
            writer_span,
            spec.writer_guest_base.as_ref(),
            "writer_guest_base",
        );
        let readers: Vec<Option<u64>> = c
            .readers
            .iter()
            .map(|&r| {
                side(
                    cx,
                    input,
                    &mut guest,
                    name,
                    (r, c.ring_bytes + ACK_PAGE_BYTES),
                    spec.reader_guest_base.as_ref(),
                    "reader_guest_base",
                )
            })
            .collect();
        let host = host(
            cx,
            input.board,
            &host_busy,
            name,
            host_bytes,
            spec.host_base.as_ref(),
            spec.bytes.span(),
        );
        let (Some(w), Some(host)) = (w, host) else {
            continue;
        };
        let Some(readers) = readers.into_iter().collect::<Option<Vec<u64>>>() else {
            continue;
        };
        host_busy.push((
            HostRange {
                base: host,
                bytes: host_bytes,
            },
            format!("channel `{name}`"),
        ));
        if spec.host_base.is_none()
            || spec.writer_guest_base.is_none()
            || spec.reader_guest_base.is_none()
        {
            let sides: Vec<String> = c
                .readers
                .iter()
                .zip(&readers)
                .map(|(&r, g)| format!("`{}` at {g:#x}", input.names[r]))
                .collect();
            notes.push(format!("channel `{name}`: host_base = {host:#x}, writer `{}` at guest {w:#x}, readers {} (chosen by the planner where the manifest left them out)", input.names[c.writer], sides.join(", ")));
        }
        out.push(ChannelModel {
            name: name.clone(),
            writer: c.writer,
            writer_guest_base: w,
            readers: c
                .readers
                .iter()
                .zip(readers)
                .map(|(&r, g)| ChannelReader {
                    partition: r as u16,
                    guest_base: g,
                })
                .collect(),
            ring_bytes: c.ring_bytes,
            host_base: host,
            mode: c.mode,
            doorbell_vector: c.doorbell_vector,
            credit_vector: c.credit_vector,
        });
    }
    (out, notes)
}

/// The partition's memory and MMIO, in whole 2 MiB blocks.
fn blockers(input: &Inputs<'_>, p: usize) -> Vec<Blocker> {
    let name = &input.names[p];
    let memory = input.memory[p].map(|m| Blocker {
        range: HostRange {
            base: m.guest_base,
            bytes: m.bytes,
        },
        what: format!("the memory of `{name}`"),
        whole_blocks: true,
    });
    let mmio = input.devices[p].1.iter().flat_map(|d| {
        d.mmio.iter().map(move |m| Blocker {
            range: *m,
            what: format!("the MMIO of device `{}`", d.name),
            whole_blocks: true,
        })
    });
    memory.into_iter().chain(mmio).collect()
}

/// `r` widened to the 2 MiB blocks it touches.
fn blocks(r: HostRange) -> HostRange {
    let base = r.base / BLOCK_2M_BYTES * BLOCK_2M_BYTES;
    let end = r
        .base
        .saturating_add(r.bytes)
        .div_ceil(BLOCK_2M_BYTES)
        .saturating_mul(BLOCK_2M_BYTES);
    HostRange {
        base,
        bytes: end - base,
    }
}

/// The first blocker `r` runs into (whole 2 MiB blocks for memory and MMIO).
fn collision(list: &[Blocker], r: HostRange) -> Option<(&Blocker, bool)> {
    list.iter().find_map(|b| {
        let bytewise = overlaps(b.range, r);
        (bytewise || (b.whole_blocks && overlaps(blocks(b.range), r))).then_some((b, bytewise))
    })
}

/// Where partition `p` sees a channel span of `bytes`: the manifest's address, checked, or the
/// lowest free page above its memory.
fn side(
    cx: &mut Ctx<'_>,
    input: &Inputs<'_>,
    guest: &mut [Vec<Blocker>],
    channel: &str,
    (p, bytes): (usize, u64),
    explicit: Option<&Spanned<Bytes>>,
    field: &str,
) -> Option<u64> {
    let partition = &input.names[p];
    let base = match explicit {
        Some(v) => explicit_side(cx, &guest[p], channel, partition, (v, field), bytes)?,
        None => {
            let memory = input.memory[p]?;
            let start =
                (memory.guest_base + memory.bytes).div_ceil(BLOCK_2M_BYTES) * BLOCK_2M_BYTES;
            let ends = guest[p]
                .iter()
                .map(|b| {
                    if b.whole_blocks {
                        blocks(b.range)
                    } else {
                        b.range
                    }
                })
                .map(|r| (r.base + r.bytes).div_ceil(PAGE_BYTES) * PAGE_BYTES);
            let mut candidates: Vec<u64> = ends.chain([start]).filter(|&a| a >= start).collect();
            candidates.sort_unstable();
            candidates.into_iter().find(|&a| {
                a.saturating_add(bytes) <= MAX_ADDRESS
                    && collision(&guest[p], HostRange { base: a, bytes }).is_none()
            })?
        }
    };
    guest[p].push(Blocker {
        range: HostRange { base, bytes },
        what: format!("channel `{channel}`"),
        whole_blocks: false,
    });
    Some(base)
}

fn explicit_side(
    cx: &mut Ctx<'_>,
    list: &[Blocker],
    channel: &str,
    partition: &str,
    (value, field): (&Spanned<Bytes>, &str),
    bytes: u64,
) -> Option<u64> {
    let base = value.get_ref().0;
    let r = HostRange { base, bytes };
    let at = format!("channel `{channel}` in `{partition}` at {}", show(r));
    let d = if !base.is_multiple_of(PAGE_BYTES) {
        let d = cx.manifest.error(
            value.span(),
            format!("`{field}` of channel `{channel}` is not 4 KiB-aligned"),
        );
        d.found(Bytes(base))
            .accepted("a multiple of 4 KiB (0x1000)")
            .hint(format!("try {:#x}", base.div_ceil(PAGE_BYTES) * PAGE_BYTES))
    } else if base.checked_add(bytes).is_none_or(|e| e > MAX_ADDRESS) {
        let d = cx.manifest.error(
            value.span(),
            format!("{at} ends past the 52-bit physical address space"),
        );
        d.found(Bytes(base))
            .accepted(format!("{field} + {} <= {MAX_ADDRESS:#x}", Bytes(bytes)))
    } else if let Some((b, bytewise)) = collision(list, r) {
        let how = if bytewise {
            "overlaps".to_string()
        } else {
            format!("shares a 2 MiB block with {} (the guest's boot page tables map memory and MMIO in whole 2 MiB blocks, with their own cache type)", show(blocks(b.range)))
        };
        let d = cx
            .manifest
            .error(value.span(), format!("{at} {how}: {}", b.what));
        d.found(format!(
            "{field} = {base:#x} ({} mapped on this side)",
            Bytes(bytes)
        ))
        .accepted(format!(
            "a range clear of {} and of the 2 MiB blocks of the partition's memory and MMIO",
            b.what
        ))
        .hint("omit the field to let the planner place it above the partition's memory")
    } else {
        return Some(base);
    };
    cx.push(d);
    None
}

/// Where the ring and acknowledgement pages live in host memory.
fn host(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    busy: &[(HostRange, String)],
    channel: &str,
    bytes: u64,
    explicit: Option<&Spanned<Bytes>>,
    size_span: std::ops::Range<usize>,
) -> Option<u64> {
    let in_ram = |r: HostRange| {
        board
            .ram
            .iter()
            .any(|x| x.base <= r.base && r.base.saturating_add(r.bytes) <= x.base + x.bytes)
    };
    let Some(value) = explicit else {
        // Rings start 2 MiB-aligned, as partition memory does (clear of what firmware and the
        // boot loader leave in the first megabytes); later rings pack after earlier ones.
        let end = |r: &HostRange, what: &str| {
            let unit = if what.starts_with("channel") {
                PAGE_BYTES
            } else {
                BLOCK_2M_BYTES
            };
            r.base
                .saturating_add(r.bytes)
                .div_ceil(unit)
                .saturating_mul(unit)
        };
        let ram_starts = board
            .ram
            .iter()
            .map(|r| r.base.div_ceil(BLOCK_2M_BYTES) * BLOCK_2M_BYTES);
        let found = ram_starts
            .chain(busy.iter().map(|(b, what)| end(b, what)))
            .filter(|&a| {
                let r = HostRange { base: a, bytes };
                in_ram(r) && !busy.iter().any(|(b, _)| overlaps(*b, r))
            })
            .min();
        if found.is_none() {
            let d = cx.manifest.error(size_span, format!("no free board RAM for the {} of channel `{channel}` (ring and acknowledgement pages)", Bytes(bytes)));
            cx.push(d.found(Bytes(bytes)).accepted("a size that fits in the board RAM the partitions and the hypervisor leave free").hint("shrink the ring or a partition's memory"));
        }
        return found;
    };
    let base = value.get_ref().0;
    let r = HostRange { base, bytes };
    let at = format!("channel `{channel}` at host {}", show(r));
    let d = if !base.is_multiple_of(PAGE_BYTES) {
        let d = cx.manifest.error(
            value.span(),
            format!("`host_base` of channel `{channel}` is not 4 KiB-aligned"),
        );
        d.found(Bytes(base))
            .accepted("a multiple of 4 KiB (0x1000)")
            .hint(format!("try {:#x}", base.div_ceil(PAGE_BYTES) * PAGE_BYTES))
    } else if !in_ram(r) {
        let ram: Vec<String> = board.ram.iter().map(|x| show(*x)).collect();
        let d = cx
            .manifest
            .error(value.span(), format!("{at} is outside the board's RAM"));
        d.found(show(r))
            .accepted(format!("within one RAM range: {}", ram.join(", ")))
            .hint("omit host_base to let the planner place it")
    } else if let Some((b, what)) = busy.iter().find(|(b, _)| overlaps(*b, r)) {
        let d = cx.manifest.error(
            value.span(),
            format!("{at} overlaps {what} at {}", show(*b)),
        );
        d.found(format!(
            "host_base = {base:#x} ({} with the acknowledgement pages)",
            Bytes(bytes)
        ))
        .accepted("a RAM range no partition, channel or the hypervisor uses")
        .hint("omit host_base to let the planner place it")
    } else {
        return Some(base);
    };
    cx.push(d);
    None
}

/// False (with an error) when a participant has a bus-mastering device: with no IOMMU it could
/// write the ring whatever the EPT says.
fn dma_free(cx: &mut Ctx<'_>, manifest: &ManifestFile, input: &Inputs<'_>, c: &Resolved) -> bool {
    let spec = manifest.channels[c.index].get_ref();
    let spans = std::iter::once((c.writer, spec.writer.span(), "writer")).chain(
        c.readers
            .iter()
            .zip(spec.readers.get_ref())
            .map(|(&r, s)| (r, s.span(), "reader")),
    );
    let mut ok = true;
    for (p, span, role) in spans {
        if let Some(dev) = input.devices[p].1.iter().find(|d| d.dma) {
            let name = &input.names[p];
            let d = cx.manifest.error(span, format!("channel `{}`: {role} `{name}` has device `{}` with dma = \"unconfined\", which can write the channel's memory whatever the EPT says", spec.name.get_ref(), dev.name));
            let promise = if role == "writer" {
                "the readers' acknowledgement pages would not be read-only to the writer"
            } else {
                "the ring would not be read-only to this reader"
            };
            cx.push(
                d.found(format!(
                    "`{name}` grants `{}` with dma = \"unconfined\"",
                    dev.name
                ))
                .accepted("channels between partitions without unconfined DMA devices")
                .hint(format!(
                    "{promise}; give the device to a partition outside the channel"
                )),
            );
            ok = false;
        }
    }
    ok
}
