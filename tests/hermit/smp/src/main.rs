//! SMP test for a Hermit partition: one worker thread per vCPU (Hermit places new threads round-robin
//! on its cores), each notes the x2APIC ID it runs on, sleeps `ROUNDS` times and measures each sleep
//! with `Instant`. Exit code 0 when every vCPU ran a worker and no sleep ended early; otherwise the
//! code of the first failed check (see `Failure`).
// `deny`, not `forbid`: the CPUID in cpu.rs is the one exception (see kernel/README.md, "Unsafe
// code").
#![deny(unsafe_code)]

#[cfg(target_os = "hermit")]
use hermit as _;

mod cpu;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Sleeps per worker and their length (Hermit busy-waits below 10 ms and blocks on its timer from
/// 10 ms up).
const ROUNDS: u32 = 5;
const SLEEP: Duration = Duration::from_millis(20);

/// What one worker saw.
struct Report {
    apic_id: u32,
    shortest: Duration,
    longest: Duration,
}

/// Why the test failed, as the exit code.
#[derive(Clone, Copy, Debug)]
enum Failure {
    NotEveryVcpu = 1,
    EarlyWake = 2,
    WorkerPanicked = 3,
}

fn main() {
    let started = Instant::now();
    let vcpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "hermit-smp: {vcpus} vCPUs, main thread on x2APIC ID {}",
        cpu::x2apic_id()
    );
    let outcome = run(vcpus);
    let elapsed_us = started.elapsed().as_micros();
    match outcome {
        Ok(summary) => {
            println!("SUMMARY hermit_smp=pass vcpus={vcpus} {summary} elapsed_us={elapsed_us}");
        }
        Err(failure) => {
            println!("hermit-smp: fail: {failure:?}");
            std::process::exit(failure as i32);
        }
    }
}

/// Spawns one worker per vCPU and checks their reports; the SUMMARY pairs on success.
fn run(vcpus: usize) -> Result<String, Failure> {
    let workers: Vec<_> = (0..vcpus).map(|_| std::thread::spawn(worker)).collect();
    let mut reports = Vec::new();
    for handle in workers {
        reports.push(handle.join().map_err(|_| Failure::WorkerPanicked)?);
    }
    let ids: BTreeSet<u32> = reports.iter().map(|r| r.apic_id).collect();
    println!("hermit-smp: workers ran on x2APIC IDs {ids:?}");
    if ids.len() != vcpus {
        return Err(Failure::NotEveryVcpu);
    }
    let shortest = reports.iter().map(|r| r.shortest).min().unwrap_or_default();
    let longest = reports.iter().map(|r| r.longest).max().unwrap_or_default();
    if shortest < SLEEP {
        return Err(Failure::EarlyWake);
    }
    Ok(format!(
        "sleeps={} sleep_us={} slept_min_us={} slept_max_us={}",
        vcpus as u32 * ROUNDS,
        SLEEP.as_micros(),
        shortest.as_micros(),
        longest.as_micros()
    ))
}

/// One worker: where it runs, and how long each of its sleeps really took.
fn worker() -> Report {
    let apic_id = cpu::x2apic_id();
    let mut shortest = Duration::MAX;
    let mut longest = Duration::ZERO;
    for _ in 0..ROUNDS {
        let before = Instant::now();
        std::thread::sleep(SLEEP);
        let slept = before.elapsed();
        shortest = shortest.min(slept);
        longest = longest.max(slept);
    }
    Report {
        apic_id,
        shortest,
        longest,
    }
}
