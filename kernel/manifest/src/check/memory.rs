//! Partition memory: 2 MiB-aligned sizes and bases, inside the board's RAM, clear of the
//! hypervisor and of every other partition, in total no more than the board has. Memory without
//! `host_base` is placed at the lowest free address.

use super::board::{overlaps, show};
use super::{BoardFacts, Ctx};
use crate::plan::{HostRange, Memory};
use crate::schema::{ManifestFile, PartitionSpec};
use crate::size::Bytes;

/// Alignment of partition memory sizes and bases (one 2 MiB EPT page).
pub const ALIGN_BYTES: u64 = 2 << 20;

/// Highest physical address + 1 that x86-64 paging can express (52 bits).
pub const MAX_ADDRESS: u64 = 1 << 52;

/// Checks and places every partition's memory (`None` where it has errors).
pub fn check(cx: &mut Ctx<'_>, board: &BoardFacts, manifest: &ManifestFile) -> Vec<Option<Memory>> {
    let parts: Vec<&PartitionSpec> = manifest.partitions.iter().map(|p| p.get_ref()).collect();
    let aligned: Vec<bool> = parts.iter().map(|p| check_alignment(cx, p)).collect();
    let over = check_total(cx, board, &parts);
    let mut placed: Vec<Option<HostRange>> = vec![None; parts.len()];
    for (i, part) in parts.iter().enumerate() {
        if let (true, Some(base)) = (aligned[i], &part.host_base) {
            let r = HostRange {
                base: base.get_ref().0,
                bytes: part.memory.get_ref().0,
            };
            if fits_explicit(cx, board, &placed, &parts, (part, base.span()), r) {
                placed[i] = Some(r);
            }
        }
    }
    for (i, part) in parts.iter().enumerate() {
        if aligned[i] && part.host_base.is_none() {
            placed[i] = place(cx, board, &placed, part, over);
        }
    }
    parts
        .iter()
        .zip(placed)
        .map(|(p, r)| {
            r.map(|r| Memory {
                guest_base: p.guest_base.as_ref().map_or(0, |g| g.get_ref().0),
                host_base: r.base,
                bytes: r.bytes,
            })
        })
        .collect()
}

fn check_alignment(cx: &mut Ctx<'_>, part: &PartitionSpec) -> bool {
    let name = part.name.get_ref();
    let fields = [
        ("memory", Some(&part.memory)),
        ("host_base", part.host_base.as_ref()),
        ("guest_base", part.guest_base.as_ref()),
    ];
    let mut ok = true;
    for (field, value) in fields {
        let Some(value) = value else { continue };
        let v = value.get_ref().0;
        if !v.is_multiple_of(ALIGN_BYTES) || (field == "memory" && v == 0) {
            let d = cx.manifest.error(
                value.span(),
                format!("`{field}` of partition `{name}` is not a multiple of 2 MiB"),
            );
            let up = Bytes(v.div_ceil(ALIGN_BYTES).max(1).saturating_mul(ALIGN_BYTES));
            cx.push(d.found(Bytes(v)).accepted("a non-zero multiple of 2 MiB (0x200000) for memory; a multiple of 2 MiB for bases").hint(format!("try {up}")));
            ok = false;
        } else if field != "memory"
            && v.checked_add(part.memory.get_ref().0)
                .is_none_or(|end| end > MAX_ADDRESS)
        {
            let d = cx.manifest.error(
                value.span(),
                format!(
                    "memory of partition `{name}` would end past the 52-bit physical address space"
                ),
            );
            cx.push(
                d.found(Bytes(v))
                    .accepted(format!("{field} + memory <= {MAX_ADDRESS:#x}")),
            );
            ok = false;
        }
    }
    ok
}

/// Reports when the partitions need more memory than the board's RAM; returns true then.
fn check_total(cx: &mut Ctx<'_>, board: &BoardFacts, parts: &[&PartitionSpec]) -> bool {
    let free = board.ram.iter().fold(0u64, |sum, r| {
        let shared = end(*r)
            .min(end(board.hypervisor))
            .saturating_sub(r.base.max(board.hypervisor.base));
        sum.saturating_add(r.bytes - shared.min(r.bytes))
    });
    let mut total = 0u64;
    for part in parts {
        total = total.saturating_add(part.memory.get_ref().0);
        if total > free {
            let d = cx.manifest.error(
                part.memory.span(),
                format!(
                    "partitions need {} of memory in total (up to `{}`), more than board `{}` has",
                    Bytes(total),
                    part.name.get_ref(),
                    board.name
                ),
            );
            cx.push(d.found(Bytes(total)).accepted(format!(
                "at most {} (board RAM minus the hypervisor's {})",
                Bytes(free),
                Bytes(board.hypervisor.bytes)
            )));
            return true;
        }
    }
    false
}

fn fits_explicit(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    placed: &[Option<HostRange>],
    parts: &[&PartitionSpec],
    (part, span): (&PartitionSpec, std::ops::Range<usize>),
    r: HostRange,
) -> bool {
    let at = format!("memory of `{}` at {}", part.name.get_ref(), show(r));
    let d = if !in_ram(board, r) {
        let ram: Vec<String> = board.ram.iter().map(|x| show(*x)).collect();
        let d = cx
            .manifest
            .error(span, format!("{at} is outside the board's RAM"))
            .found(show(r));
        d.accepted(format!("within one RAM range: {}", ram.join(", ")))
    } else if overlaps(r, board.hypervisor) {
        let d = cx.manifest.error(
            span,
            format!("{at} overlaps the hypervisor at {}", show(board.hypervisor)),
        );
        d.found(show(r))
            .accepted(format!("a range outside the hypervisor's {}", show(board.hypervisor)))
            .hint("move host_base past the hypervisor, or omit it to let the planner place the memory")
    } else if let Some(j) = placed
        .iter()
        .position(|o| o.is_some_and(|o| overlaps(o, r)))
    {
        let other = format!(
            "partition `{}` at {}",
            parts[j].name.get_ref(),
            show(placed[j].unwrap_or(r))
        );
        let d = cx.manifest.error(span, format!("{at} overlaps {other}"));
        d.found(show(r))
            .accepted("a range no other partition's memory uses")
            .hint("partitions never share memory; pick disjoint host_base values")
    } else {
        return true;
    };
    cx.push(d);
    false
}

/// True if `r` lies inside one of the board's RAM ranges.
fn in_ram(board: &BoardFacts, r: HostRange) -> bool {
    board
        .ram
        .iter()
        .any(|x| x.base <= r.base && end(r) <= end(*x))
}

/// Lowest 2 MiB-aligned free range of the partition's size.
fn place(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    placed: &[Option<HostRange>],
    part: &PartitionSpec,
    over: bool,
) -> Option<HostRange> {
    let bytes = part.memory.get_ref().0;
    let busy: Vec<HostRange> = placed
        .iter()
        .flatten()
        .copied()
        .chain([board.hypervisor])
        .collect();
    let starts = board
        .ram
        .iter()
        .map(|r| r.base)
        .chain(busy.iter().map(|b| end(*b)));
    let found = starts
        .map(|a| HostRange {
            base: a.div_ceil(ALIGN_BYTES).saturating_mul(ALIGN_BYTES),
            bytes,
        })
        .filter(|&r| in_ram(board, r) && !busy.iter().any(|b| overlaps(*b, r)))
        .min_by_key(|r| r.base);
    if found.is_none() && !over {
        let message = format!(
            "no free 2 MiB-aligned board RAM for the {} of `{}`",
            Bytes(bytes),
            part.name.get_ref()
        );
        let d = cx.manifest.error(part.memory.span(), message);
        cx.push(
            d.found(format!("memory = \"{}\"", Bytes(bytes)))
                .accepted("a size that fits one free 2 MiB-aligned gap of board RAM")
                .hint("the free RAM is fragmented by host_base placements; shrink the memory or move the others"),
        );
    }
    found
}

/// One past the last byte of `r` (saturating).
fn end(r: HostRange) -> u64 {
    r.base.saturating_add(r.bytes)
}
