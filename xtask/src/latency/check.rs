//! The campaign against the hypervisor's own closing lines: each vCPU's counters in its end
//! record (read through the exit-counters hypercall) must equal what the hypervisor printed for
//! it, reason by reason; only VMCALLs may be more (the end record's own console writes and the
//! STOP come after the snapshot).

use super::campaign::Campaign;
use super::log::stream_name;
use super::report::reason_name;

/// The errors, all at once.
pub fn against_hypervisor(campaign: &Campaign) -> Result<(), String> {
    let mut errors = Vec::new();
    for (key, end) in &campaign.end_exits {
        let Some(printed) = campaign.hypervisor_exits.get(key) else {
            errors.push(format!(
                "{}: the hypervisor printed no exit counts for it",
                stream_name(key)
            ));
            continue;
        };
        let mut names: Vec<String> = end.keys().map(|r| reason_name(*r)).collect();
        names.extend(printed.keys().filter(|k| *k != "total").cloned());
        names.sort();
        names.dedup();
        for name in names {
            let reported = end
                .iter()
                .filter(|(r, _)| reason_name(**r) == name)
                .map(|(_, c)| *c)
                .sum::<u64>();
            let hypervisor = printed.get(&name).copied().unwrap_or(0);
            let agrees = match name.as_str() {
                "vmcall" => hypervisor >= reported,
                _ => hypervisor == reported,
            };
            if !agrees {
                errors.push(format!(
                    "{}: {name} exits: the report has {reported}, the hypervisor counted {hypervisor}",
                    stream_name(key)
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the report disagrees with the hypervisor's counters:\n  {}",
            errors.join("\n  ")
        ))
    }
}
