//! Test guest `isolation`. In a partition named `memory`, vCPU 1 reads and vCPU 2 writes the first
//! bytes past the partition's memory (mapped in the guest's own page tables, so the access reaches
//! EPT); in a partition named `devices`, vCPU 1 reads a denied I/O port and vCPU 2 writes a denied
//! MSR; in a partition named `cpu`, vCPU 1 jumps past its memory and vCPU 2 triple-faults. Each such access must make the hypervisor stop that vCPU; vCPU 0 waits for every attempt,
//! gives the hypervisor time to act and passes if no attacker got past its access. Partitions with
//! any other name are bystanders: they compute over their own memory for a while and pass if it
//! is intact, showing that the faults elsewhere did not disturb them. In a partition named
//! `counters`, vCPU 0 aims the exit-counters hypercall at arrays it must refuse (see `counters`).
//! In partition `cpu-model` and the `msr-*` partitions, vCPUs 1 and 2 each take one MSR of a class
//! the partition is not granted (performance counters, machine check, power, speculation controls,
//! VMX capabilities, memory types, debug, system call, time, undefined); in `cpu-model`, vCPU 0
//! first checks the CPU it is shown and what bad XSETBV, INVD, WBINVD and VMX instructions do
//! (see `cpu_model`).
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod attacks;
mod counters;
mod cpu_model;

use core::sync::atomic::{AtomicU32, Ordering};
use tessera_guest::{cpu, fail, println, time, BootInfo, TestResult};

tessera_guest::entry!(run);

/// Attackers that reached their access.
static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
/// Attackers that got past their access (the hypervisor did not stop them).
static SURVIVORS: AtomicU32 = AtomicU32::new(0);
/// How long vCPU 0 waits for the attackers to reach their access, in TSC cycles.
const ATTEMPT_TIMEOUT_CYCLES: u64 = 2_000_000_000;
/// How long vCPU 0 then waits for a survivor to show up, in TSC cycles.
const GRACE_CYCLES: u64 = 20_000_000;
/// How long attackers wait before their access, in TSC cycles (so that bystanders are at work).
const ATTACK_DELAY_CYCLES: u64 = 10_000_000;
/// How long a bystander works, in TSC cycles (well past the attacks).
const BYSTANDER_WORK_CYCLES: u64 = 200_000_000;

fn run(info: &'static BootInfo) -> TestResult {
    if info.name() == "counters" {
        time::delay(ATTACK_DELAY_CYCLES);
        return counters::attack(info);
    }
    let Some(attack) = attacks::for_vcpu(info.name(), info.vcpu_index) else {
        return if attacks::is_attacking_partition(info.name()) {
            coordinate(info)
        } else {
            bystander(info)
        };
    };
    time::delay(ATTACK_DELAY_CYCLES);
    println!("vcpu {}: {}", info.vcpu_index, attack.describe(info));
    ATTEMPTS.fetch_add(1, Ordering::AcqRel);
    let value = attack.run(info);
    SURVIVORS.fetch_add(1, Ordering::AcqRel);
    fail!(
        "not stopped: {} completed (value {value:#x})",
        attack.describe(info)
    )
}

/// vCPU 0 of an attacking partition: every other vCPU attacks; none may come back.
fn coordinate(info: &BootInfo) -> TestResult {
    if info.name() == "cpu-model" {
        cpu_model::check(info)?;
    }
    let attackers = info.vcpu_count - 1;
    let all_tried = time::wait_until(ATTEMPT_TIMEOUT_CYCLES, || {
        ATTEMPTS.load(Ordering::Acquire) == attackers
    });
    if !all_tried {
        let tried = ATTEMPTS.load(Ordering::Acquire);
        return fail!("only {tried} of {attackers} attackers reached their access");
    }
    time::wait_until(GRACE_CYCLES, || SURVIVORS.load(Ordering::Acquire) > 0);
    match SURVIVORS.load(Ordering::Acquire) {
        0 => {
            println!("vcpu 0: all {attackers} attackers stopped at their access");
            Ok(())
        }
        survivors => fail!("{survivors} attackers were not stopped"),
    }
}

/// A bystander: fills and re-checks a buffer of its own for a while.
fn bystander(info: &BootInfo) -> TestResult {
    println!("vcpu {}: bystander at work", info.vcpu_index);
    if info.name() == "display" {
        // The owner of the device `reach` attacks reads it: the mapping exists, for its owner only.
        let value = attacks::read_own_device(info);
        println!(
            "vcpu {}: read its own device MMIO: {value:#x}",
            info.vcpu_index
        );
    }
    let mut buffer = [0u64; 512];
    let mut round = 0u64;
    let started = cpu::rdtsc();
    while cpu::rdtsc().wrapping_sub(started) < BYSTANDER_WORK_CYCLES {
        let seed = round << 32 | u64::from(info.vcpu_index);
        for (i, word) in buffer.iter_mut().enumerate() {
            *word = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        // Keep the compiler from proving the check true: the words must really be stored and read.
        core::hint::black_box(&mut buffer);
        let intact = buffer
            .iter()
            .enumerate()
            .all(|(i, &word)| word == seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if !intact {
            return fail!("own memory changed under it in round {round}");
        }
        round += 1;
    }
    println!(
        "vcpu {}: bystander finished its work ({round} rounds)",
        info.vcpu_index
    );
    Ok(())
}
