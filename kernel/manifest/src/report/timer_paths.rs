//! Which timer paths leave the guest, per partition, for `cargo xtask explain`: the VM exits a
//! guest's local APIC timer costs on APIC-timer virtualization and on the trapped path, and which
//! of the two the partition's `timer` setting takes.

use crate::plan::{Partition, Plan, TimerMode};
use serde_json::{json, Value};
use std::fmt::Write;

/// One timer path and its exits on either path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerPath {
    pub path: &'static str,
    pub virtualized: &'static str,
    pub trapped: &'static str,
}

/// Every timer path, most common first (the same for every partition).
pub const PATHS: [TimerPath; 4] = [
    TimerPath {
        path: "TSC-deadline arm (WRMSR IA32_TSC_DEADLINE), read, or write of 0",
        virtualized: "no exit",
        trapped: "1 exit (WRMSR or RDMSR)",
    },
    TimerPath {
        path: "TSC-deadline expiry",
        virtualized:
            "no exit (the processor sets the vector in the virtual IRR, waking a halted guest)",
        trapped: "1 exit (VMX-preemption timer; the vector is posted like an IPI)",
    },
    TimerPath {
        path: "LVT timer write (vector, mask, mode) or SVR write",
        virtualized: "1 exit (the hypervisor moves the timer between the two paths)",
        trapped: "1 exit",
    },
    TimerPath {
        path: "one-shot and periodic modes (initial count, divide, current count)",
        virtualized: "trapped: 1 exit per register access, 1 per expiry",
        trapped: "1 exit per register access, 1 per expiry",
    },
];

/// Which column applies to partition `p`.
fn applies(p: &Partition<'_>) -> &'static str {
    match p.timer {
        TimerMode::Virtualized => "timer = \"virtualized\": APIC-timer virtualization; boot is refused on a CPU without it",
        TimerMode::Preferred => "timer = \"preferred\": APIC-timer virtualization where the CPU offers it, the trapped path otherwise",
        TimerMode::Trapped => "timer = \"trapped\": the trapped path, whatever the CPU offers",
    }
}

/// `virtualized X; trapped Y`, or only the column the partition's setting can take.
fn cost(p: &Partition<'_>, r: &TimerPath) -> String {
    match p.timer {
        TimerMode::Virtualized => r.virtualized.to_string(),
        TimerMode::Trapped => r.trapped.to_string(),
        TimerMode::Preferred if r.virtualized == r.trapped => r.trapped.to_string(),
        TimerMode::Preferred => format!("virtualized {}; trapped {}", r.virtualized, r.trapped),
    }
}

/// The readable section.
pub fn text(out: &mut String, plan: &Plan<'_>) {
    let _ = writeln!(
        out,
        "\ntimer paths, VM exits per guest timer event (the local APIC timer of each vCPU):"
    );
    for p in plan.partitions {
        let _ = writeln!(out, "  partition `{}` ({}):", p.name, applies(p));
        for r in &PATHS {
            let _ = writeln!(out, "    {}: {}", r.path, cost(p, r));
        }
    }
}

/// The JSON section: per partition, its setting and each path's exits on the paths it can take.
pub fn json(plan: &Plan<'_>) -> Value {
    let partitions: Vec<Value> = plan
        .partitions
        .iter()
        .map(|p| {
            let rows: Vec<Value> = PATHS
                .iter()
                .map(|r| {
                    let virtualized = (p.timer != TimerMode::Trapped).then_some(r.virtualized);
                    let trapped = (p.timer != TimerMode::Virtualized).then_some(r.trapped);
                    json!({"path": r.path, "virtualized": virtualized, "trapped": trapped})
                })
                .collect();
            json!({"partition": p.name, "timer": p.timer.as_str(), "paths": rows})
        })
        .collect();
    json!(partitions)
}
