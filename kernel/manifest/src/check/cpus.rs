//! Partition names and CPU ownership: valid unique names, known board CPUs, each CPU owned
//! once, at least one CPU per partition and at least one that starts at boot.

use super::{BoardFacts, Ctx};
use crate::diag::{did_you_mean, list};
use crate::model::VcpuModel;
use crate::schema::{ManifestFile, PartitionSpec};
use toml::Spanned;

/// What a partition name may look like.
pub const NAME_RULE: &str =
    "1 to 32 characters: a lowercase letter, then lowercase letters, digits, `-` or `_`";

/// True if `name` follows [`NAME_RULE`].
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// True when `wanted` names a partition whose own name is invalid (already an error there), so a
/// reference to it is not reported a second time.
pub fn names_misnamed(names: &[String], wanted: &str) -> bool {
    names.iter().any(|n| {
        !valid_name(n)
            && (n.eq_ignore_ascii_case(wanted) || did_you_mean(wanted, [n.as_str()]).is_some())
    })
}

/// Checks partition names; returns them in manifest order.
pub fn check_names(cx: &mut Ctx<'_>, manifest: &ManifestFile) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for part in &manifest.partitions {
        let name = &part.get_ref().name;
        if !valid_name(name.get_ref()) {
            let d = cx.manifest.error(name.span(), "invalid partition name");
            cx.push(
                d.found(format!("\"{}\"", name.get_ref()))
                    .accepted(NAME_RULE),
            );
        } else if names.contains(name.get_ref()) {
            let d = cx.manifest.error(
                name.span(),
                format!("partition name `{}` is used twice", name.get_ref()),
            );
            let taken: Vec<&str> = names.iter().map(String::as_str).collect();
            cx.push(
                d.found(format!("\"{}\"", name.get_ref()))
                    .accepted(format!(
                        "a name no other partition has (taken: {})",
                        list(taken)
                    ))
                    .hint("every [[partition]] needs its own name"),
            );
        }
        names.push(name.get_ref().clone());
    }
    if manifest.partitions.is_empty() {
        let d = cx.manifest.error(0..0, "the manifest has no partition");
        cx.push(
            d.found("no [[partition]] table")
                .accepted("at least one [[partition]] table")
                .hint("add a [[partition]] table"),
        );
    }
    names
}

/// Resolves every partition's CPUs; reports unknown, doubly owned and missing CPUs.
pub fn check(cx: &mut Ctx<'_>, board: &BoardFacts, manifest: &ManifestFile) -> Vec<Vec<VcpuModel>> {
    let mut owner: Vec<Option<String>> = vec![None; board.cpus.len()];
    let mut out = Vec::new();
    for part in manifest.partitions.iter().map(Spanned::get_ref) {
        let vcpus = part
            .cpus
            .get_ref()
            .iter()
            .filter_map(|cpu| resolve(cx, board, &mut owner, part, cpu))
            .collect();
        check_boot_cpus(cx, part);
        out.push(vcpus);
    }
    for part in manifest
        .partitions
        .iter()
        .map(Spanned::get_ref)
        .filter(|p| p.cpus.get_ref().is_empty())
    {
        let d = cx.manifest.error(
            part.cpus.span(),
            format!("partition `{}` has no CPU", part.name.get_ref()),
        );
        let free = board
            .cpus
            .iter()
            .zip(&owner)
            .filter(|(_, o)| o.is_none())
            .map(|(c, _)| c.name.as_str());
        cx.push(
            d.found("cpus = []")
                .accepted(format!("board CPUs no partition owns: {}", list(free))),
        );
    }
    out
}

/// The vCPU for board CPU `cpu` of `part`, if the CPU exists and is not owned yet.
fn resolve(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    owner: &mut [Option<String>],
    part: &PartitionSpec,
    cpu: &Spanned<String>,
) -> Option<VcpuModel> {
    let (name, partition) = (cpu.get_ref(), part.name.get_ref());
    let Some(index) = board.cpu(name) else {
        let d = cx.manifest.error(
            cpu.span(),
            format!("unknown board CPU `{name}` in partition `{partition}`"),
        );
        let names = board.cpus.iter().map(|c| c.name.as_str());
        let d = d.found(format!("\"{name}\"")).accepted(list(names.clone()));
        cx.push(d.maybe_hint(did_you_mean(name, names)));
        return None;
    };
    if let Some(other) = &owner[index] {
        let (message, hint) = if other == partition {
            (
                format!("CPU `{name}` is listed twice in partition `{partition}`'s cpus"),
                "one vCPU per board CPU: remove the second entry",
            )
        } else {
            (
                format!("CPU `{name}` is owned twice: by `{other}` and by `{partition}`"),
                "a CPU belongs to exactly one partition",
            )
        };
        let d = cx.manifest.error(cpu.span(), message);
        let free = board
            .cpus
            .iter()
            .zip(owner.iter())
            .filter(|(_, o)| o.is_none());
        let free = list(free.map(|(c, _)| c.name.as_str()));
        cx.push(
            d.found(format!("\"{name}\""))
                .accepted(format!("a board CPU no partition owns yet: {free}"))
                .hint(hint),
        );
        return None;
    }
    owner[index] = Some(partition.clone());
    let physical_apic_id = board.cpus[index].apic_id;
    Some(VcpuModel {
        board_cpu: name.clone(),
        physical_apic_id,
        starts_at_boot: starts_at_boot(part, name),
    })
}

fn starts_at_boot(part: &PartitionSpec, cpu: &str) -> bool {
    part.boot_cpus
        .as_ref()
        .is_none_or(|boot| boot.get_ref().iter().any(|b| b.get_ref() == cpu))
}

fn waits_on_purpose(part: &PartitionSpec) -> bool {
    part.vcpu0_waits_for_sipi
        .as_ref()
        .is_some_and(|w| *w.get_ref())
}

/// `boot_cpus` names only the partition's own CPUs, is not empty and starts vCPU 0 unless
/// `vcpu0_waits_for_sipi = true` says otherwise (which is refused where vCPU 0 does start).
fn check_boot_cpus(cx: &mut Ctx<'_>, part: &PartitionSpec) {
    check_waits_flag(cx, part);
    let Some(boot) = &part.boot_cpus else { return };
    let own: Vec<&str> = part
        .cpus
        .get_ref()
        .iter()
        .map(|c| c.get_ref().as_str())
        .collect();
    for cpu in boot.get_ref() {
        if !own.contains(&cpu.get_ref().as_str()) {
            let d = cx.manifest.error(
                cpu.span(),
                format!(
                    "boot CPU `{}` is not one of partition `{}`'s CPUs",
                    cpu.get_ref(),
                    part.name.get_ref()
                ),
            );
            cx.push(
                d.found(format!("\"{}\" in boot_cpus", cpu.get_ref()))
                    .accepted(format!(
                        "CPUs of this partition's cpus: {}",
                        list(own.iter().copied())
                    ))
                    .maybe_hint(did_you_mean(cpu.get_ref(), own.iter().copied())),
            );
        }
    }
    let all_own = boot
        .get_ref()
        .iter()
        .all(|b| own.contains(&b.get_ref().as_str()));
    // A misspelt boot CPU is reported above; it is not also a vCPU 0 left out.
    if let (Some(&first), false, true) = (own.first(), boot.get_ref().is_empty(), all_own) {
        let listed = boot.get_ref().iter().any(|b| b.get_ref() == first);
        if !listed && !waits_on_purpose(part) {
            let d = cx.manifest.error(
                boot.span(),
                format!(
                    "boot_cpus of partition `{}` leaves out vCPU 0 (`{first}`), the guest's bootstrap processor",
                    part.name.get_ref()
                ),
            );
            let found: Vec<&str> = boot
                .get_ref()
                .iter()
                .map(|b| b.get_ref().as_str())
                .collect();
            cx.push(
                d.found(format!("boot_cpus = [{}]", list(found.iter().copied())))
                    .accepted(format!("boot_cpus that include \"{first}\", or vcpu0_waits_for_sipi = true to start another vCPU first on purpose"))
                    .hint("vCPU 0 runs on the first CPU in `cpus`; a guest expects its bootstrap processor to start"),
            );
        }
    }
    if boot.get_ref().is_empty() && !own.is_empty() {
        let d = cx.manifest.error(
            boot.span(),
            format!(
                "no CPU of partition `{}` starts at boot",
                part.name.get_ref()
            ),
        );
        cx.push(d.found("boot_cpus = []").accepted("boot_cpus with at least one of this partition's CPUs").hint("list at least the CPU that runs the guest's bootstrap code, or omit boot_cpus to start them all"));
    }
}

/// `vcpu0_waits_for_sipi = true` where vCPU 0 starts at boot says something false.
fn check_waits_flag(cx: &mut Ctx<'_>, part: &PartitionSpec) {
    let Some(flag) = part.vcpu0_waits_for_sipi.as_ref().filter(|w| *w.get_ref()) else {
        return;
    };
    let Some(first) = part.cpus.get_ref().first() else {
        return;
    };
    if starts_at_boot(part, first.get_ref()) {
        let d = cx.manifest.error(
            flag.span(),
            format!(
                "vcpu0_waits_for_sipi = true, but vCPU 0 (`{}`) of partition `{}` starts at boot",
                first.get_ref(),
                part.name.get_ref()
            ),
        );
        cx.push(
            d.found("vcpu0_waits_for_sipi = true")
                .accepted(format!(
                    "the flag only with boot_cpus that leave out \"{}\"",
                    first.get_ref()
                ))
                .hint("remove the flag, or list the CPUs that start at boot in boot_cpus"),
        );
    }
}
