//! The `flooder` partition of scenario `console-flood`: every vCPU writes the cheapest line there is
//! (`x` and a newline) through the console hypercall as fast as it can, from the witness's start
//! signal (fixed IPI [`START_VECTOR`] to vCPU 0, over a trapped route) to its stop signal
//! ([`STOP_VECTOR`]). Each vCPU counts the bytes it offered and the bytes the hypervisor took;
//! vCPU 0 fails the partition if nothing was refused (the flood was never held back) or if the
//! hypervisor's own count of refused bytes disagrees.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tessera_guest::guest_abi::CONSOLE_FACT_DROPPED_BYTES;
use tessera_guest::{cpu, fail, hypercall, idt, println, time, BootInfo, TestResult};

/// The witness's signals to vCPU 0 (the route's allow-list in tests/scenarios/console-flood.toml).
pub const START_VECTOR: u8 = 0x40;
pub const STOP_VECTOR: u8 = 0x41;
/// The cheapest line: one byte of text (12 wire bytes behind `[flooder] `).
const LINE: &[u8] = b"x\n";
/// How long vCPU 0 waits for each signal, in TSC cycles.
const SIGNAL_TIMEOUT_CYCLES: u64 = 20_000_000_000;

static FLOODING: AtomicBool = AtomicBool::new(false);
static STOPPED: AtomicBool = AtomicBool::new(false);
/// vCPUs that finished and checked their counts.
static DONE: AtomicU32 = AtomicU32::new(0);

pub fn run(info: &BootInfo) -> TestResult {
    if info.vcpu_index == 0 {
        cpu::enable_interrupts();
        if !time::wait_until(SIGNAL_TIMEOUT_CYCLES, || idt::arrivals(0, START_VECTOR) > 0) {
            return fail!("no start signal from the witness");
        }
        FLOODING.store(true, Ordering::Release);
    }
    while !FLOODING.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let (offered, taken) = flood(info.vcpu_index == 0);
    report(info, offered, taken)
}

/// Writes [`LINE`] until the stop signal (vCPU 0 watches for it); returns bytes offered and taken.
fn flood(watcher: bool) -> (u64, u64) {
    let (mut offered, mut taken) = (0u64, 0u64);
    let started = cpu::rdtsc();
    while !STOPPED.load(Ordering::Acquire) {
        offered += LINE.len() as u64;
        taken += hypercall::console_write(LINE).unwrap_or(0) as u64;
        let stop = idt::arrivals(0, STOP_VECTOR) > 0;
        let late = cpu::rdtsc().wrapping_sub(started) > SIGNAL_TIMEOUT_CYCLES;
        if watcher && (stop || late) {
            STOPPED.store(true, Ordering::Release);
        }
    }
    (offered, taken)
}

/// Checks this vCPU's counts against the hypervisor's and prints them; vCPU 0 also waits for the
/// others and fails the partition if the flood was never held back.
fn report(info: &BootInfo, offered: u64, taken: u64) -> TestResult {
    let dropped = offered - taken;
    let counted = hypercall::console_fact(CONSOLE_FACT_DROPPED_BYTES).unwrap_or(u64::MAX);
    println!(
        "vcpu {}: flood offered {offered} bytes, {taken} taken, {dropped} refused (hypervisor counts {counted})",
        info.vcpu_index
    );
    if counted < dropped {
        return fail!("the hypervisor counts {counted} refused bytes, the guest {dropped}");
    }
    DONE.fetch_add(1, Ordering::AcqRel);
    if info.vcpu_index != 0 {
        return Ok(());
    }
    time::wait_until(SIGNAL_TIMEOUT_CYCLES, || {
        DONE.load(Ordering::Acquire) == info.vcpu_count
    });
    if dropped == 0 {
        return fail!("the flood was never held back ({offered} bytes offered, all taken)");
    }
    Ok(())
}
