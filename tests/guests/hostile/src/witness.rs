//! The `witness` partition of scenario `console-flood`: times its own console writes with RDTSC,
//! first while nobody else prints, then while the `flooder` floods (started and stopped by a fixed
//! IPI over a trapped route): right after the start, while the flooder still spends its burst and
//! every flooder vCPU has a line queued, and again once the flooder is held to its refill rate. It
//! prints the worst and median cost alone and during the flood, and fails if a write of its own was
//! refused (it stays within its share) or if its worst write during the flood cost more than its
//! worst quiet one plus the wait bound the hypervisor states (one longest line of every other CPU,
//! `CONSOLE_FACT_WAIT_BOUND_CYCLES`).

use crate::flood::{START_VECTOR, STOP_VECTOR};
use core::fmt::Write;
use tessera_guest::guest_abi::{CONSOLE_FACT_CYCLES_PER_BYTE, CONSOLE_FACT_WAIT_BOUND_CYCLES};
use tessera_guest::{apic, cpu, fail, hypercall, println, time, BootInfo, PeerRoute, TestResult};

/// Timed writes in each phase: alone, in the flood's burst, once the flooder is held back.
const WRITES: usize = 16;
/// TSC cycles the witness stays quiet in the flood, long enough for the flooder to spend its
/// burst (1024 bytes) at the UART's pace.
const SETTLE_CYCLES: u64 = 8_000_000;

/// Worst and median cost of one phase's writes, in TSC cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    pub worst: u64,
    pub median: u64,
}

/// Worst and median of `samples` (sorted in place); zeros when empty.
pub fn costs(samples: &mut [u64]) -> Costs {
    samples.sort_unstable();
    Costs {
        worst: samples.last().copied().unwrap_or(0),
        median: samples.get(samples.len() / 2).copied().unwrap_or(0),
    }
}

pub fn run(info: &BootInfo) -> TestResult {
    let trapped = PeerRoute::Trapped as u32;
    let Some(flooder) = info.peers().iter().find(|p| p.route == trapped) else {
        return fail!("no trapped route to the flooder in the boot info");
    };
    let facts = (
        hypercall::console_fact(CONSOLE_FACT_CYCLES_PER_BYTE),
        hypercall::console_fact(CONSOLE_FACT_WAIT_BOUND_CYCLES),
    );
    let (Ok(cycles_per_byte), Ok(bound)) = facts else {
        return fail!("the console facts are not available");
    };
    let quiet = measure("quiet")?;
    apic::send_fixed(flooder.virtual_apic_id, START_VECTOR);
    let burst = measure("burst")?;
    time::delay(SETTLE_CYCLES);
    let limited = measure("limited")?;
    apic::send_fixed(flooder.virtual_apic_id, STOP_VECTOR);
    let mut flood_samples = [0u64; 2 * WRITES];
    flood_samples[..WRITES].copy_from_slice(&burst);
    flood_samples[WRITES..].copy_from_slice(&limited);
    let (quiet, flood) = (costs(&mut { quiet }), costs(&mut flood_samples));
    println!(
        "SUMMARY scenario=console-flood quiet_worst_cycles={} quiet_median_cycles={} flood_worst_cycles={} flood_median_cycles={}",
        quiet.worst, quiet.median, flood.worst, flood.median
    );
    println!(
        "SUMMARY scenario=console-flood writes={WRITES}+{WRITES}+{WRITES} wait_bound_cycles={bound} cycles_per_byte={cycles_per_byte}"
    );
    if flood.worst > quiet.worst + bound {
        return fail!(
            "a write during the flood cost {} cycles, more than {} quiet plus the {bound} bound",
            flood.worst,
            quiet.worst
        );
    }
    Ok(())
}

/// Times [`WRITES`] console writes of one whole line each; fails if one is refused in part.
fn measure(phase: &str) -> Result<[u64; WRITES], tessera_guest::Failure> {
    let mut samples = [0u64; WRITES];
    for (i, sample) in samples.iter_mut().enumerate() {
        let mut line: heapless::String<96> = heapless::String::new();
        let _ = writeln!(
            line,
            "witness {phase} write {i:02} of {WRITES}: timed with RDTSC"
        );
        let started = cpu::rdtsc();
        let taken = hypercall::console_write(line.as_bytes()).unwrap_or(0);
        *sample = cpu::rdtsc().wrapping_sub(started);
        if taken != line.len() {
            return Err(tessera_guest::Failure::new(format_args!(
                "{phase} write {i}: the console took {taken} of {} bytes",
                line.len()
            )));
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_and_median() {
        assert_eq!(
            costs(&mut [5, 1, 9, 3, 7]),
            Costs {
                worst: 9,
                median: 5
            }
        );
        assert_eq!(
            costs(&mut [4, 2]),
            Costs {
                worst: 4,
                median: 4
            }
        );
        assert_eq!(
            costs(&mut []),
            Costs {
                worst: 0,
                median: 0
            }
        );
    }
}
