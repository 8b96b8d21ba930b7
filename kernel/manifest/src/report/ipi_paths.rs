//! Which IPI paths leave the guest, per partition, for `cargo xtask explain`: the VM exits one IPI
//! costs with IPIv and on the fallback (IPIv off, or `preferred` on a CPU without it). The
//! receiver of a fixed IPI never exits: delivery is a posted interrupt either way.

use crate::plan::{Partition, Plan, RouteMode};
use serde_json::{json, Value};
use std::fmt::Write;

/// No VM exit anywhere.
const NO_EXIT: &str = "no exit";
/// The fallback for a fixed unicast: the ICR write exits, the hypervisor posts.
const POSTED: &str = "1 sender exit (posted by the hypervisor)";

/// An NMI: the sender's ICR write, and each other target is kicked out of its guest to inject it.
const NMI: &str = "1 sender exit + 1 exit per other target (to inject it)";
/// No route: nothing is delivered.
const DENIED: &str = "1 sender exit, dropped and counted as denied";

/// One path and its exits per IPI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpiPath {
    pub path: String,
    pub with_ipiv: &'static str,
    pub without_ipiv: &'static str,
}

fn row(path: String, with_ipiv: &'static str, without_ipiv: &'static str) -> IpiPath {
    IpiPath {
        path,
        with_ipiv,
        without_ipiv,
    }
}

/// The IPI paths of partition `p`, most common first.
pub fn paths(p: &Partition<'_>) -> Vec<IpiPath> {
    let mut rows = vec![row(
        "fixed unicast to its own vCPUs".into(),
        NO_EXIT,
        POSTED,
    )];
    for r in p.routes {
        rows.push(match r.mode {
            RouteMode::Exitless => row(
                format!("exitless route -> `{}`", r.to_name),
                NO_EXIT,
                POSTED,
            ),
            RouteMode::Trapped => {
                let vectors: Vec<String> = r.vectors.iter().map(|v| format!("{v:#x}")).collect();
                let path = format!(
                    "trapped route -> `{}` (vectors {})",
                    r.to_name,
                    vectors.join(", ")
                );
                let cost = "1 sender exit; other vectors dropped and counted as denied";
                row(path, cost, cost)
            }
        });
    }
    let emulated = "1 sender exit (emulated inside the partition)";
    rows.extend([
        row("SELF IPI register (x2APIC 0x83F)".into(), NO_EXIT, NO_EXIT),
        row(
            "shorthands, broadcast, logical destinations".into(),
            emulated,
            emulated,
        ),
        row("NMI".into(), NMI, NMI),
        row("INIT, start-up".into(), emulated, emulated),
        row("any other APIC ID, vector < 16".into(), DENIED, DENIED),
    ]);
    rows
}

/// Which figure applies on this board.
fn applies(plan: &Plan<'_>) -> &'static str {
    match (plan.ipiv.enabled, plan.ipiv.mode.as_str()) {
        (true, "preferred") => "the board offers IPIv; `preferred` falls back to the figure without it on a CPU that lacks it",
        (true, _) => "the board offers IPIv: the figures with IPIv apply",
        (false, _) => "IPIv is not used: the figures without it apply",
    }
}

/// `with IPIv X; without Y`, or `X` when both are the same.
fn cost(r: &IpiPath) -> String {
    if r.with_ipiv == r.without_ipiv {
        r.with_ipiv.to_string()
    } else {
        format!("with IPIv {}; without {}", r.with_ipiv, r.without_ipiv)
    }
}

/// The readable section.
pub fn text(out: &mut String, plan: &Plan<'_>) {
    let _ = writeln!(
        out,
        "\nIPI paths, VM exits per IPI ({}); the receiver of a fixed IPI never exits:",
        applies(plan)
    );
    for p in plan.partitions {
        let _ = writeln!(out, "  partition `{}`:", p.name);
        for r in paths(p) {
            let _ = writeln!(out, "    {}: {}", r.path, cost(&r));
        }
    }
}

/// The JSON section: per partition, its paths.
pub fn json(plan: &Plan<'_>) -> Value {
    let partitions: Vec<Value> = plan
        .partitions
        .iter()
        .map(|p| {
            let rows: Vec<Value> = paths(p)
                .into_iter()
                .map(|r| json!({"path": r.path, "with_ipiv": r.with_ipiv, "without_ipiv": r.without_ipiv}))
                .collect();
            json!({"partition": p.name, "paths": rows})
        })
        .collect();
    json!(partitions)
}
