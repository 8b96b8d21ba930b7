//! The end of a run: when no vCPU is active, exit counts per partition and vCPU, then the verdict
//! (see `outcome`) as the `TESSERA-RESULT:` line. Printed by the run loop of the vCPU that stopped last.

use crate::outcome::{partition_verdict, VcpuEnd};
use crate::plan::PLAN;
use crate::vcpu::shared::{self, VCPUS};
use tessera_arch::println;
use tessera_vmx::ipi::VcpuRef;

/// Host-stack headroom below which the summary warns (the margin the planner sizes host stacks
/// with above their measured depth; the planned stacks have no guard page yet).
const STACK_MARGIN_BYTES: usize = tessera_manifest::heap::HOST_STACK_MARGIN_BYTES;

/// Prints the counts and the result line (called once, by the CPU whose vCPU stopped last).
pub fn print() {
    let mut failed = 0usize;
    for (p, part) in PLAN.partitions.iter().enumerate() {
        let mut ends: heapless::Vec<VcpuEnd, VCPUS> = heapless::Vec::new();
        let (mut total, mut console, mut dropped) = (0u64, 0u64, 0u64);
        for v in 0..part.vcpus.len() {
            let state = shared::of(PLAN.vcpu_index(VcpuRef {
                partition: p as u16,
                vcpu: v as u16,
            }));
            let (used, size) = state.stack_use().unwrap_or((0, 0));
            let (printed, refused) = state.console_bytes();
            (console, dropped) = (console + printed, dropped + refused);
            total += state.with_counters(|counters| {
                println!(
                    "partition {} vcpu {v}: {}, host stack {used} of {size} bytes, console {printed} bytes ({refused} dropped), {counters}",
                    part.name,
                    state.end()
                );
                counters.total()
            })
            .unwrap_or_else(|| {
                println!("partition {} vcpu {v}: {}, exit counters held by its CPU", part.name, state.end());
                0
            });
            if size > 0 && size - used < STACK_MARGIN_BYTES {
                println!("warning: host stack of {} vcpu {v} has less than {STACK_MARGIN_BYTES} bytes left", part.name);
            }
            let _ = ends.push(state.end());
        }
        let verdict = partition_verdict(&ends);
        println!(
            "SUMMARY partition={} exits={total} console_bytes={console} console_dropped_bytes={dropped} result={}",
            part.name,
            if verdict.is_ok() { "pass" } else { "fail" }
        );
        if let Err(why) = verdict {
            println!("partition {}: {why}", part.name);
            failed += 1;
        }
    }
    print_host_stacks();
    print_startup_stacks();
    if failed == 0 {
        println!("TESSERA-RESULT: pass");
    } else {
        println!("TESSERA-RESULT: fail: {failed} partition(s) did not succeed");
    }
}

/// The deepest use of any vCPU's host stack, against the planned size (the planner sizes host
/// stacks from this figure: `tessera_manifest::heap::HOST_STACK_MEASURED_*_BYTES`).
fn print_host_stacks() {
    let used_max = (0..VCPUS)
        .filter_map(|i| shared::of(i).stack_use())
        .map(|(used, _)| used)
        .max()
        .unwrap_or(0);
    println!(
        "SUMMARY host_stack_used_max_bytes={used_max} host_stack_bytes={}",
        PLAN.heap.host_stack_bytes
    );
}

/// How deep the boot CPU's start-up stack was used (it carried the whole boot) before the CPU
/// moved onto its vCPU's host stack, for sizing it. APs have none: they start on their host
/// stacks, whose use is printed per vCPU above.
fn print_startup_stacks() {
    let Some(probe) = tessera_arch::stack::startup_stack_probe(0) else {
        return;
    };
    let used = probe.used_bytes();
    println!(
        "cpu0: start-up stack {used} of {} bytes used",
        probe.size_bytes()
    );
    println!(
        "SUMMARY bsp_stack_used_bytes={used} bsp_stack_bytes={}",
        probe.size_bytes()
    );
}
