//! Devices and consoles: each board device has at most one owner (a partition or the
//! hypervisor), devices sharing an IRQ line have the same owner, and a passed-through device's
//! MMIO does not collide with the guest's memory.

use super::board::{overlaps, show};
use super::{BoardFacts, Ctx};
use crate::diag::{did_you_mean, list};
use crate::model::DeviceModel;
use crate::plan::{Console, HostRange, Memory};
use crate::schema::ManifestFile;
use std::ops::Range;
use toml::Spanned;

/// The console value that selects the hypervisor's console hypercall.
pub const HYPERCALL: &str = "hypercall";

/// Who a board device belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Hypervisor,
    Partition(usize),
}

/// A device handed to a partition, and where the manifest does it.
struct Grant {
    device: usize,
    partition: usize,
    span: Range<usize>,
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
    let mut grants = Vec::new();
    let mut out = Vec::new();
    for (p, part) in manifest.partitions.iter().enumerate() {
        let part = part.get_ref();
        let start = grants.len();
        let mut console = Console::Hypercall;
        if let Some(c) = part.console.as_ref().filter(|c| c.get_ref() != HYPERCALL) {
            if claim(cx, board, manifest, &mut owner, p, c, "console").is_some() {
                console = Console::Device(0);
                grants.push(grant(board, p, c));
            }
        }
        for dev in &part.devices {
            if claim(cx, board, manifest, &mut owner, p, dev, "device").is_some() {
                grants.push(grant(board, p, dev));
            }
        }
        let devices: Vec<DeviceModel> = grants[start..]
            .iter()
            .map(|g| board.devices[g.device].clone())
            .collect();
        if let Some(mem) = memory[p] {
            check_mmio(cx, part.name.get_ref(), &part.devices, &devices, mem);
        }
        out.push((console, devices));
    }
    check_irqs(cx, board, manifest, &owner, &grants);
    out
}

fn grant(board: &BoardFacts, partition: usize, name: &Spanned<String>) -> Grant {
    Grant {
        device: board.device(name.get_ref()).unwrap_or_default(),
        partition,
        span: name.span(),
    }
}

/// How messages name an owner.
fn owner_name(manifest: &ManifestFile, owner: Owner) -> String {
    match owner {
        Owner::Hypervisor => "the hypervisor (its console)".into(),
        Owner::Partition(p) => format!(
            "partition `{}`",
            manifest.partitions[p].get_ref().name.get_ref()
        ),
    }
}

/// Gives device `wanted` to partition `p`, or reports why not; returns its board index.
fn claim(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    owner: &mut [Option<Owner>],
    p: usize,
    wanted: &Spanned<String>,
    role: &str,
) -> Option<usize> {
    let name = manifest.partitions[p].get_ref().name.get_ref();
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
    match owner[i] {
        None => {
            owner[i] = Some(Owner::Partition(p));
            Some(i)
        }
        Some(Owner::Partition(q)) if q == p => {
            listed_twice(cx, manifest, p, wanted);
            None
        }
        Some(other) => {
            let d = cx.manifest.error(
                wanted.span(),
                format!(
                    "{role} `{}` of `{name}` is assigned twice: it already belongs to {}",
                    wanted.get_ref(),
                    owner_name(manifest, other)
                ),
            );
            cx.push(
                d.found(format!("\"{}\"", wanted.get_ref()))
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
fn listed_twice(cx: &mut Ctx<'_>, manifest: &ManifestFile, p: usize, wanted: &Spanned<String>) {
    let part = manifest.partitions[p].get_ref();
    let device = wanted.get_ref();
    let is_console = part.console.as_ref().is_some_and(|c| c.get_ref() == device);
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

/// Devices that share an IRQ line must have one owner: the line cannot be split.
fn check_irqs(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    owner: &[Option<Owner>],
    grants: &[Grant],
) {
    for (g, grant) in grants.iter().enumerate() {
        let mine = Owner::Partition(grant.partition);
        let earlier = |k: usize| {
            owner[k] == Some(Owner::Hypervisor)
                || grants[..g]
                    .iter()
                    .any(|e| e.device == k && e.partition != grant.partition)
        };
        let dev = &board.devices[grant.device];
        let others = |irq: u8| {
            (0..board.devices.len()).filter(move |&k| {
                k != grant.device
                    && board.devices[k].irqs.contains(&irq)
                    && owner[k].is_some_and(|o| o != mine)
            })
        };
        let clash = dev
            .irqs
            .iter()
            .find_map(|&irq| others(irq).find(|&k| earlier(k)).map(|k| (irq, k)));
        if let Some((irq, k)) = clash {
            let other = owner[k].unwrap_or(Owner::Hypervisor);
            shared_irq(cx, board, manifest, grant, (irq, k, other));
        }
    }
}

fn shared_irq(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    grant: &Grant,
    (irq, k, other): (u8, usize, Owner),
) {
    let (dev, shared) = (&board.devices[grant.device], &board.devices[k]);
    let partition = manifest.partitions[grant.partition]
        .get_ref()
        .name
        .get_ref();
    let d = cx.manifest.error(
        grant.span.clone(),
        format!(
            "IRQ {irq} of device `{}`, given to partition `{partition}`, is shared with device `{}`, which belongs to {}",
            dev.name,
            shared.name,
            owner_name(manifest, other)
        ),
    );
    let found = format!(
        "`{}` irqs = {:?} (board line {}), `{}` irqs = {:?} (board line {})",
        dev.name,
        dev.irqs,
        board.device_line(cx.board, grant.device),
        shared.name,
        shared.irqs,
        board.device_line(cx.board, k)
    );
    let hint = match other {
        Owner::Hypervisor => format!("the hypervisor keeps its console's IRQ line: give `{partition}` a device on another line"),
        Owner::Partition(_) => format!("give `{}` and `{}` to the same partition, or leave one of them unassigned", dev.name, shared.name),
    };
    cx.push(
        d.found(found)
            .accepted("devices that share an IRQ line all go to one owner")
            .hint(hint),
    );
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
