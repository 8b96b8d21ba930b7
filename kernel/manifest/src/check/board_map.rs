//! The board's physical address map: RAM, the hypervisor, firmware-reserved ranges, device MMIO
//! and the architectural APIC pages. Every range is non-empty and does not wrap around, and no
//! two share a byte, except that the hypervisor lies inside exactly one RAM range.

use super::board::{overlaps, show};
use super::Ctx;
use crate::plan::HostRange;
use crate::schema::{BoardFile, RangeSpec};
use std::ops::Range;
use toml::Spanned;

/// The local APIC's register page (its xAPIC window; every CPU decodes it).
pub const LOCAL_APIC_PAGE: HostRange = HostRange {
    base: 0xFEE0_0000,
    bytes: 0x1000,
};

/// The first I/O APIC's register page.
pub const IO_APIC_PAGE: HostRange = HostRange {
    base: 0xFEC0_0000,
    bytes: 0x1000,
};

/// What a range of the map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Window,
    Ram,
    Hypervisor,
    Reserved,
    Mmio,
}

/// One range of the map, with where the board declares it and how messages name it.
struct Region {
    kind: Kind,
    range: HostRange,
    span: Range<usize>,
    /// Where an empty or wrapping range is reported (the `bytes` of `[hypervisor]`).
    size_span: Range<usize>,
    /// What the range is (`RAM range`), for messages about the range itself.
    what: String,
    /// What the range is and where (`RAM range 0x100000..0x200000 (1 MiB)`).
    label: String,
}

/// The RAM ranges and the hypervisor range, as declared.
pub struct Map {
    pub ram: Vec<HostRange>,
    pub hypervisor: HostRange,
}

/// Checks the board's address map; returns its RAM and hypervisor ranges (also when invalid).
pub fn check(cx: &mut Ctx<'_>, file: &BoardFile) -> Map {
    let ram: Vec<HostRange> = file.ram.iter().map(|r| range(r.get_ref())).collect();
    let hypervisor = HostRange {
        base: file.hypervisor.base.get_ref().0,
        bytes: file.hypervisor.bytes.get_ref().0,
    };
    let mut regions = declared(file, hypervisor);
    regions.retain(|r| well_formed(cx, r));
    let usable = regions.iter().any(|r| r.kind == Kind::Hypervisor);
    regions.sort_by_key(|r| (r.kind != Kind::Window, r.span.start));
    if usable {
        inside_one_ram(cx, file, hypervisor, &ram);
    }
    for (i, region) in regions.iter().enumerate() {
        let clash = regions[..i]
            .iter()
            .find(|earlier| overlaps(earlier.range, region.range) && !allowed(earlier, region));
        if let Some(earlier) = clash {
            report_overlap(cx, region, earlier);
        }
    }
    // A malformed hypervisor range is reported once; partitions are then checked as if it were empty.
    let hypervisor = match usable {
        true => hypervisor,
        false => HostRange {
            base: hypervisor.base,
            bytes: 0,
        },
    };
    Map { ram, hypervisor }
}

fn range(spec: &RangeSpec) -> HostRange {
    HostRange {
        base: spec.base.get_ref().0,
        bytes: spec.bytes.get_ref().0,
    }
}

/// Every range of the map, architectural windows first.
fn declared(file: &BoardFile, hypervisor: HostRange) -> Vec<Region> {
    let windows = [
        (LOCAL_APIC_PAGE, "the local APIC page"),
        (IO_APIC_PAGE, "the I/O APIC page"),
    ];
    let mut out: Vec<Region> = windows
        .into_iter()
        .map(|(range, what)| Region {
            kind: Kind::Window,
            range,
            span: 0..0,
            size_span: 0..0,
            what: what.to_string(),
            label: format!("{what} {}", show(range)),
        })
        .collect();
    out.extend(file.ram.iter().map(|r| {
        let range = range(r.get_ref());
        region(Kind::Ram, range, r.span(), "RAM range".into())
    }));
    let span = file.hypervisor.base.span();
    let mut hv = region(
        Kind::Hypervisor,
        hypervisor,
        span,
        "the hypervisor range".into(),
    );
    hv.size_span = file.hypervisor.bytes.span();
    out.push(hv);
    out.extend(file.reserved.iter().map(|r| {
        let spec = r.get_ref();
        let range = range(&RangeSpec {
            base: spec.base.clone(),
            bytes: spec.bytes.clone(),
        });
        let what = format!("reserved range `{}`", spec.name.get_ref());
        region(Kind::Reserved, range, r.span(), what)
    }));
    for dev in file.devices.iter().map(Spanned::get_ref) {
        out.extend(dev.mmio.iter().map(|m| {
            let range = range(m.get_ref());
            let what = format!("MMIO range of device `{}`", dev.name.get_ref());
            region(Kind::Mmio, range, m.span(), what)
        }));
    }
    out
}

fn region(kind: Kind, range: HostRange, span: Range<usize>, what: String) -> Region {
    Region {
        kind,
        range,
        size_span: span.clone(),
        span,
        label: format!("{what} {}", show(range)),
        what,
    }
}

/// Reports an empty, wrapping or (for MMIO) partial-page range; true if the range is usable.
fn well_formed(cx: &mut Ctx<'_>, r: &Region) -> bool {
    let HostRange { base, bytes } = r.range;
    let wraps = bytes == 0 || base.checked_add(bytes).is_none();
    let pages = base.is_multiple_of(4096) && bytes.is_multiple_of(4096);
    let (message, accepted) = match r.kind {
        Kind::Window => return true,
        Kind::Mmio if wraps || !pages => (
            format!("{} is not whole 4 KiB pages", r.what),
            "base and bytes multiples of 4 KiB, bytes > 0, base + bytes below 2^64",
        ),
        _ if wraps => (
            format!("{} is empty or wraps around", r.what),
            "bytes > 0 and base + bytes below 2^64",
        ),
        _ => return true,
    };
    let d = cx.board.error(r.size_span.clone(), message);
    cx.push(
        d.found(format!("base {base:#x}, bytes {bytes:#x}"))
            .accepted(accepted)
            .hint("`bytes` is the size of the range, not its end address; sizes take units such as \"4 KiB\""),
    );
    false
}

/// The hypervisor's image is loaded into its range, so the range must be RAM.
fn inside_one_ram(cx: &mut Ctx<'_>, file: &BoardFile, hv: HostRange, ram: &[HostRange]) {
    let end = |r: HostRange| r.base.saturating_add(r.bytes);
    if ram.iter().any(|r| r.base <= hv.base && end(hv) <= end(*r)) {
        return;
    }
    let listed: Vec<String> = ram.iter().map(|r| show(*r)).collect();
    let d = cx.board.error(
        file.hypervisor.base.span(),
        format!(
            "the hypervisor range {} is not inside one RAM range",
            show(hv)
        ),
    );
    cx.push(
        d.found(show(hv))
            .accepted(format!("a range within one [[ram]] range: {}", listed.join(", ")))
            .hint("the hypervisor image, its heap and the guest images are loaded there: move [hypervisor] base and bytes into one RAM range"),
    );
}

/// Only the hypervisor may share bytes, with the RAM it lies in.
fn allowed(a: &Region, b: &Region) -> bool {
    matches!(
        (a.kind, b.kind),
        (Kind::Ram, Kind::Hypervisor) | (Kind::Hypervisor, Kind::Ram)
    )
}

fn report_overlap(cx: &mut Ctx<'_>, region: &Region, earlier: &Region) {
    let at = match earlier.kind {
        Kind::Window => String::new(),
        _ => format!(" (line {})", cx.board.location(earlier.span.start).0),
    };
    let d = cx.board.error(
        region.span.clone(),
        format!("{} overlaps {}{at}", region.label, earlier.label),
    );
    cx.push(
        d.found(show(region.range))
            .accepted("a range no other RAM, hypervisor, reserved or MMIO range of the board uses, clear of the local APIC page 0xfee00000 and the I/O APIC page 0xfec00000")
            .hint(hint(region.kind, earlier.kind)),
    );
}

fn hint(a: Kind, b: Kind) -> &'static str {
    let has = |k: Kind| a == k || b == k;
    if has(Kind::Window) {
        "the APIC pages belong to the processor and the chipset: keep RAM, MMIO, reserved and hypervisor ranges out of them"
    } else if has(Kind::Ram) && a != b {
        "[[ram]] lists only memory partitions may use: split the RAM range around device windows and firmware-reserved ranges"
    } else if has(Kind::Hypervisor) {
        "move [hypervisor] base into RAM no device or firmware range uses"
    } else if a == Kind::Mmio && b == Kind::Mmio {
        "two devices cannot decode the same address; if they are one device, declare it once"
    } else {
        "each physical address has one use: split or move one of the two ranges"
    }
}
