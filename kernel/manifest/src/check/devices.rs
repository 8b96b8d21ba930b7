//! Devices and consoles: each board device has at most one owner (a partition or the
//! hypervisor), and a passed-through device's MMIO does not collide with the guest's memory.

use super::board::{overlaps, show};
use super::{BoardFacts, Ctx};
use crate::diag::{did_you_mean, list};
use crate::model::DeviceModel;
use crate::plan::{Console, HostRange, Memory};
use crate::schema::ManifestFile;
use toml::Spanned;

/// The console value that selects the hypervisor's console hypercall.
pub const HYPERCALL: &str = "hypercall";

/// Resolves each partition's console and devices.
pub fn check(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    memory: &[Option<Memory>],
) -> Vec<(Console, Vec<DeviceModel>)> {
    let mut owner: Vec<Option<String>> = vec![None; board.devices.len()];
    if let Some(i) = board.hypervisor_console {
        owner[i] = Some("the hypervisor (its console)".into());
    }
    let mut out = Vec::new();
    for (p, part) in manifest.partitions.iter().enumerate() {
        let part = part.get_ref();
        let name = part.name.get_ref();
        let mut devices = Vec::new();
        let mut console = Console::Hypercall;
        if let Some(c) = part.console.as_ref().filter(|c| c.get_ref() != HYPERCALL) {
            if let Some(d) = claim(cx, board, &mut owner, name, c, "console") {
                console = Console::Device(devices.len() as u16);
                devices.push(d);
            }
        }
        for dev in &part.devices {
            if let Some(d) = claim(cx, board, &mut owner, name, dev, "device") {
                devices.push(d);
            }
        }
        if let Some(mem) = memory[p] {
            check_mmio(cx, name, &part.devices, &devices, mem);
        }
        out.push((console, devices));
    }
    out
}

/// Gives device `wanted` to partition `name`, or reports why not.
fn claim(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    owner: &mut [Option<String>],
    name: &str,
    wanted: &Spanned<String>,
    role: &str,
) -> Option<DeviceModel> {
    let Some(i) = board.device(wanted.get_ref()) else {
        let d = cx.manifest.error(
            wanted.span(),
            format!(
                "unknown {role} `{}` for partition `{name}`",
                wanted.get_ref()
            ),
        );
        let names = board.devices.iter().map(|d| d.name.as_str());
        let accepted = if role == "console" {
            format!("\"{HYPERCALL}\" or a board device: {}", list(names.clone()))
        } else {
            list(names.clone())
        };
        cx.push(
            d.found(format!("\"{}\"", wanted.get_ref()))
                .accepted(accepted)
                .maybe_hint(did_you_mean(wanted.get_ref(), names.chain([HYPERCALL]))),
        );
        return None;
    };
    if let Some(other) = &owner[i] {
        let d = cx.manifest.error(
            wanted.span(),
            format!(
                "{role} `{}` of `{name}` is assigned twice: it already belongs to {other}",
                wanted.get_ref()
            ),
        );
        cx.push(d.hint(format!(
            "a device has one owner; guests can share output through console = \"{HYPERCALL}\""
        )));
        return None;
    }
    owner[i] = Some(format!("partition `{name}`"));
    Some(board.devices[i].clone())
}

/// Device MMIO is identity-mapped, so it must not fall inside the guest's memory.
fn check_mmio(
    cx: &mut Ctx<'_>,
    name: &str,
    specs: &[Spanned<String>],
    devices: &[DeviceModel],
    mem: Memory,
) {
    let guest = HostRange {
        base: mem.guest_base,
        bytes: mem.bytes,
    };
    for dev in devices {
        if let Some(m) = dev.mmio.iter().find(|m| overlaps(**m, guest)) {
            let span = specs
                .iter()
                .find(|s| s.get_ref() == &dev.name)
                .map_or(0..0, |s| s.span());
            let d = cx.manifest.error(
                span,
                format!(
                    "MMIO {} of device `{}` falls inside `{name}`'s guest memory {}",
                    show(*m),
                    dev.name,
                    show(guest)
                ),
            );
            cx.push(
                d.hint("MMIO is mapped at its host address; move guest_base or shrink the memory"),
            );
        }
    }
}
