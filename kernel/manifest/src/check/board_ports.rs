//! Board I/O ports: every device's port ranges are non-empty, end at or below 0x10000 and are
//! decoded by one device only (an alias of a device is found by its ports, not by its name).

use super::Ctx;
use crate::plan::PortRange;
use crate::schema::{BoardFile, PortSpec};
use toml::Spanned;

/// One past the highest I/O port.
pub const PORT_SPACE_END: u32 = 0x1_0000;

/// `0x3f8..0x400`.
pub fn show(r: PortRange) -> String {
    format!(
        "{:#x}..{:#x}",
        r.base,
        u32::from(r.base) + u32::from(r.count)
    )
}

/// Checks every device's port ranges; returns each device's ranges as declared.
pub fn check(cx: &mut Ctx<'_>, file: &BoardFile) -> Vec<Vec<PortRange>> {
    let mut seen: Vec<(usize, PortRange, usize)> = Vec::new();
    let mut out = Vec::new();
    for (d, dev) in file.devices.iter().map(Spanned::get_ref).enumerate() {
        let name = dev.name.get_ref();
        let mut ports = Vec::new();
        for spec in &dev.ports {
            let r = PortRange {
                base: spec.get_ref().base,
                count: spec.get_ref().count,
            };
            if in_space(cx, name, spec) {
                if let Some(&(other, o, at)) = seen.iter().find(|(_, o, _)| share(*o, r)) {
                    let other = file.devices[other].get_ref().name.get_ref();
                    overlap(cx, spec, (name, r), (other, o, at));
                }
                seen.push((d, r, spec.span().start));
            }
            ports.push(r);
        }
        out.push(ports);
    }
    out
}

/// True if two non-empty port ranges share a port.
fn share(a: PortRange, b: PortRange) -> bool {
    let end = |r: PortRange| u32::from(r.base) + u32::from(r.count);
    u32::from(a.base) < end(b) && u32::from(b.base) < end(a)
}

/// Reports an empty range or one past 0xFFFF; true if the range is usable.
fn in_space(cx: &mut Ctx<'_>, name: &str, spec: &Spanned<PortSpec>) -> bool {
    let PortSpec { base, count } = *spec.get_ref();
    let end = u32::from(base) + u32::from(count);
    let message = if count == 0 {
        format!("I/O port range of device `{name}` is empty")
    } else if end > PORT_SPACE_END {
        format!(
            "I/O ports of device `{name}` run past 0xFFFF (to {:#x})",
            end - 1
        )
    } else {
        return true;
    };
    let d = cx.board.error(spec.span(), message);
    cx.push(
        d.found(format!("base = {base:#x}, count = {count}"))
            .accepted(format!(
                "count >= 1 and base + count <= {PORT_SPACE_END:#x} (here count 1..={})",
                PORT_SPACE_END - u32::from(base)
            ))
            .hint("`count` is the number of ports the device decodes (8 for a 16550 UART), not the last port"),
    );
    false
}

fn overlap(
    cx: &mut Ctx<'_>,
    spec: &Spanned<PortSpec>,
    (name, r): (&str, PortRange),
    (other, o, at): (&str, PortRange, usize),
) {
    let line = cx.board.location(at).0;
    let (whose, hint) = if other == name {
        (
            format!(
                "another range of the same device, {} (line {line})",
                show(o)
            ),
            "merge the ranges: each port is listed once",
        )
    } else {
        (
            format!("device `{other}`'s {} (line {line})", show(o)),
            "a port is decoded by one device: if both entries describe the same device, declare it once under one name",
        )
    };
    let d = cx.board.error(
        spec.span(),
        format!("I/O ports {} of device `{name}` overlap {whose}", show(r)),
    );
    cx.push(
        d.found(show(r))
            .accepted("ports no other range of the board declares")
            .hint(hint),
    );
}
