//! How the two sides of a probe meet, and how a vCPU waits for the next IPI of a vector. Inside a
//! partition the receiver raises a flag in shared memory; across a route with a way back it sends
//! one IPI with the reply vector; with no way back the sender keeps to the plan's schedule.

use crate::plan::one_way_only;
use core::sync::atomic::{AtomicBool, Ordering};
use tessera_guest::{apic, cpu, fail, idt, BootInfo, Failure};
use tessera_latency_record::plan::{Place, Probe, Route, PROBES_MAX};
use tessera_latency_record::Wait;

/// Polling gives up after this many TSC cycles without the awaited IPI.
const POLL_TIMEOUT_CYCLES: u64 = 2_000_000_000;

/// Set by a probe's receiver inside a partition once it listens.
static INTRA_READY: [AtomicBool; PROBES_MAX] = [const { AtomicBool::new(false) }; PROBES_MAX];

/// One vCPU's view of its arrivals: how many of each vector it has already taken.
pub struct Arrivals {
    vcpu: usize,
    taken: [u32; 256],
    /// TSC when this vCPU started (the schedule of one-way-only probes counts from it).
    pub start_tsc: u64,
}

impl Arrivals {
    pub fn new(vcpu: usize, start_tsc: u64) -> Arrivals {
        Arrivals {
            vcpu,
            taken: [0; 256],
            start_tsc,
        }
    }

    /// Waits (as `wait` says) for the next arrival of `vector`; returns its handler-entry TSC.
    pub fn next(&mut self, vector: u8, wait: Wait) -> Result<u64, Failure> {
        let taken = self.taken[usize::from(vector)];
        let start = cpu::rdtsc();
        loop {
            cpu::disable_interrupts();
            let arrived = idt::arrivals(self.vcpu, vector);
            if arrived > taken + 1 {
                return fail!(
                    "vector {vector:#x}: {} arrivals at once (fell behind)",
                    arrived - taken
                );
            }
            if arrived == taken + 1 {
                self.taken[usize::from(vector)] = arrived;
                return Ok(idt::last_arrival_tsc_of(self.vcpu, vector));
            }
            match wait {
                Wait::Poll if cpu::rdtsc().wrapping_sub(start) > POLL_TIMEOUT_CYCLES => {
                    return fail!("vector {vector:#x} did not arrive (arrival {})", taken + 1);
                }
                Wait::Poll => {
                    cpu::enable_interrupts();
                    core::hint::spin_loop();
                }
                Wait::Halt => cpu::enable_interrupts_and_halt(),
            }
        }
    }
}

/// The APIC ID of `place` as this vCPU may address it (from its boot info's peers).
pub fn apic_id_of(info: &BootInfo, place: Place) -> Result<u32, Failure> {
    let found = info.peers().iter().find(|peer| {
        u32::from(peer.partition_index) == u32::from(place.partition)
            && peer.vcpu_index == place.vcpu
    });
    match found {
        Some(peer) => Ok(peer.virtual_apic_id),
        None => fail!(
            "no route to partition {} vcpu {} in the boot info",
            place.partition,
            place.vcpu
        ),
    }
}

/// The receiver says it listens (see the module text).
pub fn signal_ready(info: &BootInfo, probe: &Probe) -> Result<(), Failure> {
    if probe.route == Route::Intra {
        INTRA_READY[usize::from(probe.id)].store(true, Ordering::Release);
    } else if !one_way_only(probe) {
        apic::send_fixed(apic_id_of(info, probe.sender)?, probe.reply_vector);
    }
    Ok(())
}

/// The sender waits until the receiver listens.
pub fn await_ready(arrivals: &mut Arrivals, probe: &Probe) -> Result<(), Failure> {
    if probe.route == Route::Intra {
        let ready = || INTRA_READY[usize::from(probe.id)].load(Ordering::Acquire);
        if !tessera_guest::time::wait_until(POLL_TIMEOUT_CYCLES, ready) {
            return fail!("probe {}: the receiver never got ready", probe.name());
        }
    } else if one_way_only(probe) {
        pace_until(arrivals.start_tsc + probe.not_before_cycles);
    } else {
        arrivals.next(probe.reply_vector, Wait::Poll)?;
    }
    Ok(())
}

/// Spins until the TSC reaches `deadline`.
pub fn pace_until(deadline: u64) {
    while cpu::rdtsc() < deadline {
        core::hint::spin_loop();
    }
}
