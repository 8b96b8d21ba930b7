//! Channels in `cargo xtask explain`: each side's addresses and permissions, and what a doorbell
//! costs in VM exits with IPIv and without it.

use crate::channel::{Access, Channel, Role};
use crate::plan::{Plan, RouteMode};
use crate::size::Bytes;
use serde_json::{json, Value};
use std::fmt::Write;

/// Exits one doorbell costs: (with IPIv, without IPIv). The receiver never exits: a fixed IPI is
/// delivered as a posted interrupt either way.
pub fn doorbell_cost(mode: RouteMode) -> (&'static str, &'static str) {
    match mode {
        RouteMode::Exitless => (
            "no exit on either side",
            "1 sender exit (the ICR write, posted by the hypervisor), none for the receiver",
        ),
        RouteMode::Trapped => (
            "1 sender exit (the vector checked), none for the receiver",
            "1 sender exit (the vector checked), none for the receiver",
        ),
    }
}

/// What the mode lets a side do to the other.
fn trust(mode: RouteMode) -> &'static str {
    match mode {
        RouteMode::Exitless => "exitless: the writer may raise any vector >= 16 on each reader's vCPUs and each reader any vector on the writer's, with no check and no exit (the partitions trust each other)",
        RouteMode::Trapped => "trapped: only the doorbell vector passes writer -> reader and only the credit vector reader -> writer; every other vector is dropped and counted",
    }
}

fn access(a: Access) -> &'static str {
    match a {
        Access::ReadOnly => "read-only",
        Access::ReadWrite => "read-write",
    }
}

/// One mapped range: guest base, bytes, what it is, access.
type Mapped = (u64, u64, &'static str, Access);

/// The sides of `c`: (partition name, role text, its mapped ranges).
fn sides<'p>(plan: &Plan<'p>, c: &Channel<'p>) -> Vec<(&'p str, String, Vec<Mapped>)> {
    let roles = std::iter::once((c.writer, Role::Writer)).chain(
        c.readers
            .iter()
            .enumerate()
            .map(|(i, r)| (r.partition, Role::Reader(i as u16))),
    );
    roles
        .map(|(p, role)| {
            let label = match role {
                Role::Writer => "writer".to_string(),
                Role::Reader(i) => format!("reader {i}"),
            };
            let [ring, ack] = c.mappings(role);
            let ranges = [
                (ring, "ring"),
                (
                    ack,
                    if role == Role::Writer {
                        "acknowledgement pages"
                    } else {
                        "its acknowledgement page"
                    },
                ),
            ]
            .into_iter()
            .filter_map(|(m, what)| m.map(|m| (m.guest_base, m.bytes, what, m.access)))
            .collect();
            (plan.partitions[usize::from(p)].name, label, ranges)
        })
        .collect()
}

/// The readable section.
pub fn text(out: &mut String, plan: &Plan<'_>) {
    if plan.channels.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nchannels (nobody but the partitions named maps a channel's memory):"
    );
    for c in plan.channels {
        let readers: Vec<String> = c
            .readers
            .iter()
            .map(|r| format!("`{}`", plan.partitions[usize::from(r.partition)].name))
            .collect();
        let _ = writeln!(
            out,
            "  channel `{}`: `{}` -> {}; ring {} + {} acknowledgement page(s) at host {:#x}",
            c.name,
            plan.partitions[usize::from(c.writer)].name,
            readers.join(", "),
            Bytes(c.ring_bytes),
            c.readers.len(),
            c.host_base
        );
        for (name, role, ranges) in sides(plan, c) {
            let shown: Vec<String> = ranges
                .iter()
                .map(|(base, bytes, what, a)| {
                    format!(
                        "{what} at guest {base:#x}..{:#x} {}",
                        base + bytes,
                        access(*a)
                    )
                })
                .collect();
            let _ = writeln!(out, "    `{name}` ({role}): {}", shown.join("; "));
        }
        let (with, without) = doorbell_cost(c.mode);
        let _ = writeln!(out, "    doorbell vector {:#x} writer -> each reader's vCPU 0, credit vector {:#x} reader -> writer's vCPU 0", c.doorbell_vector, c.credit_vector);
        let _ = writeln!(
            out,
            "    a doorbell costs: with IPIv {with}; without IPIv {without}"
        );
        let _ = writeln!(out, "    {}", trust(c.mode));
    }
}

/// The JSON section.
pub fn json(plan: &Plan<'_>) -> Value {
    let channels: Vec<Value> = plan
        .channels
        .iter()
        .map(|c| {
            let sides: Vec<Value> = sides(plan, c)
                .into_iter()
                .map(|(name, role, ranges)| {
                    let ranges: Vec<Value> = ranges.iter().map(|(base, bytes, what, a)| json!({"what": what, "guest_base": base, "bytes": bytes, "access": access(*a)})).collect();
                    json!({"partition": name, "role": role, "ranges": ranges})
                })
                .collect();
            let (with, without) = doorbell_cost(c.mode);
            json!({
                "name": c.name,
                "writer": plan.partitions[usize::from(c.writer)].name,
                "ring_bytes": c.ring_bytes,
                "host_base": c.host_base,
                "host_bytes": c.host_bytes(),
                "mode": c.mode.as_str(),
                "doorbell_vector": c.doorbell_vector,
                "credit_vector": c.credit_vector,
                "sides": sides,
                "doorbell_exits": {"with_ipiv": with, "without_ipiv": without},
            })
        })
        .collect();
    json!(channels)
}
