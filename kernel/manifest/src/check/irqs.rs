//! IRQ lines: devices that share a line must have one owner (a partition, or the hypervisor for
//! its console's line), since a line cannot be split between owners.

use super::devices::{Grant, Owner};
use super::{BoardFacts, Ctx};
use crate::schema::ManifestFile;

/// How messages name an owner.
pub fn owner_name(manifest: &ManifestFile, owner: Owner) -> String {
    match owner {
        Owner::Hypervisor => "the hypervisor (its console)".into(),
        Owner::Partition(p) => format!(
            "partition `{}`",
            manifest.partitions[p].get_ref().name.get_ref()
        ),
    }
}

/// Devices that share an IRQ line must have one owner: the line cannot be split.
pub fn check(
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
