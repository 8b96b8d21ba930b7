//! The guests' share of the hypervisor's serial console (tessera-vmx `console::budget`): the UART's
//! pace is measured on the banner, each partition printing through the hypercall gets a token bucket
//! refilled at its weight's part of three quarters of that pace, and every wire byte of a guest line
//! (prefix and newline included) is paid from its partition's bucket before it is taken.

use crate::plan::{PARTITIONS, PLAN, VCPUS};
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_arch::sync::SpinLock;
use tessera_manifest::Console;
use tessera_vmx::console::budget::{self, WaitBound};
use tessera_vmx::console::{Escaped, Grant, LineBuffer, TokenBucket};

/// TSC cycles the UART takes per byte, measured at boot.
static CYCLES_PER_BYTE: AtomicU64 = AtomicU64::new(0);
/// One bucket per partition, shared by its vCPUs (contention stays inside the partition).
static BUCKETS: [SpinLock<TokenBucket>; PARTITIONS] =
    [const { SpinLock::new(TokenBucket::new(0, 1, 0)) }; PARTITIONS];

/// Prints `banner` while timing the UART, sizes every partition's bucket from the pace measured,
/// and reports the pace and the wait bound.
pub fn start(banner: fmt::Arguments) {
    let cycles_per_byte = tessera_arch::serial::write_line_timed(banner).max(1);
    CYCLES_PER_BYTE.store(cycles_per_byte, Ordering::Relaxed);
    let now = tessera_arch::tsc_cycles();
    for (p, part) in PLAN.partitions.iter().enumerate() {
        if part.console == Console::Hypercall {
            let refill = refill_cycles_per_byte(p as u16);
            *BUCKETS[p].lock() = TokenBucket::new(budget::PARTITION_BURST_BYTES, refill, now);
        }
    }
    let bound = wait_bound();
    tessera_arch::println!(
        "SUMMARY console_cycles_per_byte={cycles_per_byte} console_line_max_bytes={} console_wait_bound_bytes={} console_wait_bound_cycles={}",
        budget::LINE_MAX_WIRE_BYTES,
        bound.bytes,
        bound.cycles
    );
}

/// Whether the hypervisor prints for partition `p` (its console is the hypercall, not a device
/// of its own).
pub fn prints_for(p: u16) -> bool {
    PLAN.partitions[usize::from(p)].console == Console::Hypercall
}

/// TSC cycles the UART takes per byte (0 before `start`).
pub fn cycles_per_byte() -> u64 {
    CYCLES_PER_BYTE.load(Ordering::Relaxed)
}

/// The longest a console write waits for the other CPUs' lines (one vCPU per CPU prints).
pub fn wait_bound() -> WaitBound {
    budget::wait_bound(VCPUS as u64, cycles_per_byte())
}

/// TSC cycles that earn partition `p` one console byte.
pub fn refill_cycles_per_byte(p: u16) -> u64 {
    let printing = PLAN
        .partitions
        .iter()
        .filter(|part| part.console == Console::Hypercall);
    let total_weight: u64 = printing.map(|part| u64::from(part.console_weight)).sum();
    let weight = u64::from(PLAN.partitions[usize::from(p)].console_weight);
    budget::refill_cycles_per_byte(cycles_per_byte(), weight, total_weight)
}

/// Wire bytes a line of partition `p` costs besides its text.
pub fn line_overhead_bytes(p: u16) -> u64 {
    budget::line_overhead_bytes(PLAN.partitions[usize::from(p)].name.len() as u64)
}

/// Takes from partition `p`'s bucket what `line` needs to print as much of `input` as it can pay.
pub fn take<const N: usize>(p: u16, line: &LineBuffer<N>, input: &[u8]) -> Grant {
    let mut bucket = BUCKETS[usize::from(p)].lock();
    let available = bucket.available(tessera_arch::tsc_cycles());
    let grant = line.affordable(input, line_overhead_bytes(p), available);
    bucket.spend(grant.cost_bytes);
    grant
}

/// Takes `bytes` whole from partition `p`'s bucket, or nothing.
pub fn take_whole(p: u16, bytes: u64) -> bool {
    let mut bucket = BUCKETS[usize::from(p)].lock();
    bucket.take_whole(tessera_arch::tsc_cycles(), bytes)
}

/// Prints one guest line of partition `name`, escaped, behind its prefix.
pub fn emit(name: &str, line: &[u8]) {
    tessera_arch::println!("[{name}] {}", Escaped(line));
}
