//! Devices and consoles: each board device has at most one owner (a partition or the
//! hypervisor), and a passed-through device's MMIO does not collide with the guest's memory.
//! IRQ lines and bus mastering have their own modules.

use super::board::{overlaps, show};
use super::irqs::owner_name;
use super::{BoardFacts, Ctx};
use crate::diag::{did_you_mean, list};
use crate::model::DeviceModel;
use crate::plan::{Console, HostRange, Memory};
use crate::schema::{DeviceRef, ManifestFile};
use std::ops::Range;
use toml::Spanned;

/// The console value that selects the hypervisor's console hypercall.
pub const HYPERCALL: &str = "hypercall";

/// Who a board device belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Hypervisor,
    Partition(usize),
}

/// A device handed to a partition, and where the manifest does it.
pub struct Grant {
    pub device: usize,
    pub partition: usize,
    pub span: Range<usize>,
}

/// Resolves each partition's console and devices.
pub fn check(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    memory: &[Option<Memory>],
) -> Vec<(Console, Vec<DeviceModel>)> {
    let mut owner: Vec<Option<Owner>> = vec![None; board.devices.len()];
    if let Some(i) = board.hypervisor_console {
        owner[i] = Some(Owner::Hypervisor);
    }
    let mut grants: Vec<Grant> = Vec::new();
    let mut out = Vec::new();
    for (p, part) in manifest.partitions.iter().enumerate() {
        let part = part.get_ref();
        let start = grants.len();
        let mut console = Console::Hypercall;
        if let Some(c) = &part.console {
            if c.get_ref().name == HYPERCALL {
                super::dma::hypercall_acknowledged(cx, c);
            } else if let Some(g) = claim(cx, board, manifest, &mut owner, p, c, "console") {
                console = Console::Device(0);
                grants.push(g);
            }
        }
        for dev in &part.devices {
            grants.extend(claim(cx, board, manifest, &mut owner, p, dev, "device"));
        }
        let devices: Vec<DeviceModel> = grants[start..]
            .iter()
            .map(|g| board.devices[g.device].clone())
            .collect();
        if let Some(mem) = memory[p] {
            check_mmio(cx, part.name.get_ref(), &grants[start..], &devices, mem);
        }
        out.push((console, devices));
    }
    super::irqs::check(cx, board, manifest, &owner, &grants);
    out
}

/// Gives device `wanted` to partition `p`, or reports why not.
fn claim(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    owner: &mut [Option<Owner>],
    p: usize,
    wanted: &Spanned<DeviceRef>,
    role: &str,
) -> Option<Grant> {
    let name = manifest.partitions[p].get_ref().name.get_ref();
    let device = &wanted.get_ref().name;
    let Some(i) = board.device(device) else {
        let d = cx.manifest.error(
            wanted.span(),
            format!("unknown {role} `{device}` for partition `{name}`"),
        );
        let names = board.devices.iter().map(|d| d.name.as_str());
        let accepted = if role == "console" {
            format!("\"{HYPERCALL}\" or a board device: {}", list(names.clone()))
        } else {
            list(names.clone())
        };
        cx.push(
            d.found(format!("\"{device}\""))
                .accepted(accepted)
                .maybe_hint(did_you_mean(device, names.chain([HYPERCALL]))),
        );
        return None;
    };
    match owner[i] {
        None => {
            owner[i] = Some(Owner::Partition(p));
            super::dma::check(cx, board, manifest, p, (i, wanted));
            Some(Grant {
                device: i,
                partition: p,
                span: wanted.span(),
            })
        }
        Some(Owner::Partition(q)) if q == p => {
            listed_twice(cx, manifest, p, wanted);
            None
        }
        Some(other) => {
            let d = cx.manifest.error(
                wanted.span(),
                format!(
                    "{role} `{device}` of `{name}` is assigned twice: it already belongs to {}",
                    owner_name(manifest, other)
                ),
            );
            cx.push(
                d.found(format!("\"{device}\""))
                    .accepted("a board device no other partition and not the hypervisor owns")
                    .hint(format!(
                        "a device has one owner; guests can share output through console = \"{HYPERCALL}\""
                    )),
            );
            None
        }
    }
}

/// A partition names the same device twice (as its console and a device, or twice in `devices`).
fn listed_twice(cx: &mut Ctx<'_>, manifest: &ManifestFile, p: usize, wanted: &Spanned<DeviceRef>) {
    let part = manifest.partitions[p].get_ref();
    let device = &wanted.get_ref().name;
    let is_console = part
        .console
        .as_ref()
        .is_some_and(|c| &c.get_ref().name == device);
    let (message, found) = if is_console {
        (
            format!(
                "device `{device}` is already partition `{}`'s console",
                part.name.get_ref()
            ),
            format!("console = \"{device}\" and `{device}` in devices"),
        )
    } else {
        (
            format!(
                "device `{device}` is listed twice in partition `{}`'s devices",
                part.name.get_ref()
            ),
            format!("`{device}` twice in devices"),
        )
    };
    let d = cx.manifest.error(wanted.span(), message);
    cx.push(
        d.found(found)
            .accepted("each device once: as the console or in devices")
            .hint("a console device is passed through like the others; remove it from devices"),
    );
}

/// Device MMIO is identity-mapped, so it must not fall inside the guest's memory.
fn check_mmio(
    cx: &mut Ctx<'_>,
    name: &str,
    grants: &[Grant],
    devices: &[DeviceModel],
    mem: Memory,
) {
    let guest = HostRange {
        base: mem.guest_base,
        bytes: mem.bytes,
    };
    for (dev, grant) in devices.iter().zip(grants) {
        if let Some(m) = dev.mmio.iter().find(|m| overlaps(**m, guest)) {
            let d = cx.manifest.error(
                grant.span.clone(),
                format!(
                    "MMIO {} of device `{}` falls inside `{name}`'s guest memory {}",
                    show(*m),
                    dev.name,
                    show(guest)
                ),
            );
            cx.push(
                d.found(format!("`{}` in the devices of `{name}`", dev.name))
                    .accepted(format!("guest memory that leaves {} free", show(*m)))
                    .hint(
                        "MMIO is mapped at its host address; move guest_base or shrink the memory",
                    ),
            );
        }
    }
}
