//! The noisy neighbour: every vCPU of the partition the plan names sweeps a buffer larger than
//! the caches, prints a console line now and then, and sends IPIs to its own siblings, for the
//! plan's `noise_cycles`; then it passes. It never sends outside its partition.

use core::sync::atomic::{AtomicU64, Ordering};
use tessera_guest::{apic, cpu, println, BootInfo, PeerRoute, TestResult};
use tessera_latency_record::plan::Settings;

/// Words swept (4 MiB).
const SWEEP_WORDS: usize = 512 * 1024;
/// Vector of the IPI storm inside the partition.
const STORM_VECTOR: u8 = 0xF0;
/// Console lines per this many sweep steps.
const PRINT_EVERY: usize = 1 << 16;

static SWEEP: [AtomicU64; SWEEP_WORDS] = [const { AtomicU64::new(0) }; SWEEP_WORDS];

pub fn run(info: &BootInfo, settings: &Settings, start_tsc: u64) -> TestResult {
    let own = PeerRoute::OwnPartition as u32;
    let sibling = info
        .peers()
        .iter()
        .find(|p| p.route == own && u32::from(p.vcpu_index) != info.vcpu_index)
        .map(|p| p.virtual_apic_id);
    cpu::enable_interrupts();
    let mut step = 0usize;
    let mut lines = 0u64;
    while cpu::rdtsc().wrapping_sub(start_tsc) < settings.noise_cycles {
        let at = (step * 67) % SWEEP_WORDS;
        SWEEP[at].fetch_add(step as u64, Ordering::Relaxed);
        step += 1;
        if step.is_multiple_of(64) {
            if let Some(id) = sibling {
                apic::send_fixed(id, STORM_VECTOR);
            }
        }
        if step.is_multiple_of(PRINT_EVERY) {
            lines += 1;
            println!("noise: line {lines}, {step} sweep steps");
        }
    }
    cpu::disable_interrupts();
    println!("noise: done after {step} sweep steps, {lines} lines");
    Ok(())
}
