//! `console_weight`: a partition's share of the hypervisor's serial console, relative to the other
//! partitions that print through the console hypercall (default 1). Only such partitions have one.

use super::devices::HYPERCALL;
use super::Ctx;
use crate::schema::ManifestFile;

/// Accepted weights.
pub const WEIGHT_RANGE: core::ops::RangeInclusive<u32> = 1..=100;

/// Each partition's console weight (1 where it is absent or wrong; errors are reported).
pub fn weights(cx: &mut Ctx<'_>, manifest: &ManifestFile) -> Vec<u16> {
    manifest
        .partitions
        .iter()
        .map(|part| {
            let part = part.get_ref();
            let Some(weight) = &part.console_weight else {
                return 1;
            };
            let uses_hypercall = part
                .console
                .as_ref()
                .is_none_or(|c| c.get_ref().name == HYPERCALL);
            if !uses_hypercall {
                let d = cx.manifest.error(
                    weight.span(),
                    format!(
                        "console_weight is set but partition `{}` owns its console device",
                        part.name.get_ref()
                    ),
                );
                let console = part.console.as_ref().map_or("", |c| c.get_ref().name.as_str());
                cx.push(
                    d.found(format!("console_weight = {} with console = \"{console}\"", weight.get_ref()))
                        .accepted("console_weight only with console = \"hypercall\" (the default)")
                        .hint("the weight shares the hypervisor's console: remove it, or set console = \"hypercall\""),
                );
                return 1;
            }
            if !WEIGHT_RANGE.contains(weight.get_ref()) {
                let d = cx.manifest.error(weight.span(), "console weight out of range");
                cx.push(
                    d.found(weight.get_ref())
                        .accepted("an integer from 1 to 100 (default 1)"),
                );
                return 1;
            }
            *weight.get_ref() as u16
        })
        .collect()
}
