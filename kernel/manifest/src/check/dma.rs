//! Bus mastering: a device the board marks `dma = true` can read and write any host-physical
//! address, and Tessera programs no IOMMU yet, so granting one needs `dma = "unconfined"` on that
//! device in the manifest. An acknowledgement on a device that cannot master the bus is refused
//! too, so that none outlives the fact it was written for.

use super::{BoardFacts, Ctx};
use crate::schema::{DeviceRef, ManifestFile};
use toml::Spanned;

/// Checks the DMA acknowledgement of device `index`, which partition `p` names as `wanted`.
pub fn check(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    manifest: &ManifestFile,
    p: usize,
    (index, wanted): (usize, &Spanned<DeviceRef>),
) {
    let partition = manifest.partitions[p].get_ref().name.get_ref();
    let device = &board.devices[index];
    let line = board.device_line(cx.board, index);
    match (device.dma, &wanted.get_ref().dma) {
        (true, None) => {
            let d = cx.manifest.error(
                wanted.span(),
                format!(
                    "device `{}` can master the bus: given to `{partition}`, it can read and write all host memory (no IOMMU is programmed)",
                    device.name
                ),
            );
            cx.push(
                d.found(format!("\"{}\" (the board says dma = true, line {line})", device.name))
                    .accepted(format!("{{ name = \"{}\", dma = \"unconfined\" }}, which accepts that `{partition}` is not isolated from memory through this device", device.name))
                    .hint("pass bus-mastering devices only to partitions trusted with the whole machine; `cargo xtask explain` lists them"),
            );
        }
        (false, Some(ack)) => {
            let d = cx.manifest.error(
                ack.span(),
                format!(
                    "device `{}` cannot master the bus: dma = \"unconfined\" acknowledges nothing",
                    device.name
                ),
            );
            cx.push(
                d.found("dma = \"unconfined\"")
                    .accepted(format!("\"{}\" (the board declares no dma for it, line {line})", device.name))
                    .hint("remove the acknowledgement; if the device does DMA, say dma = true in the board file"),
            );
        }
        _ => {}
    }
}

/// `console = { name = "hypercall", dma = ... }`: the hypercall console is no device.
pub fn hypercall_acknowledged(cx: &mut Ctx<'_>, console: &Spanned<DeviceRef>) {
    if let Some(ack) = &console.get_ref().dma {
        let d = cx.manifest.error(
            ack.span(),
            "the hypercall console is not a device: dma does not apply",
        );
        cx.push(
            d.found("dma = \"unconfined\"")
                .accepted("console = \"hypercall\"")
                .hint("remove dma"),
        );
    }
}
