//! Ping-pong: the `ping` side sends vector v(i) to `pong`, which answers with the same vector;
//! `ROUND_TRIPS` rounds, every vector 32..=255 in turn. Each side checks that every vector
//! arrives exactly once and in its round, counts its own exits around the exchange (sending and
//! other) and prints one SUMMARY line. The sides are two vCPUs of one partition (`intra-<wait>`)
//! or the single vCPUs of two partitions joined by exitless routes (`ping-<wait>`, `pong-<wait>`).

use crate::probe;
use crate::wait::{self, Wait};
use core::sync::atomic::{AtomicBool, Ordering};
use tessera_guest::exits::{Exits, Meter};
use tessera_guest::{apic, cpu, fail, idt, println, time, TestResult};

/// Round trips per run.
pub const ROUND_TRIPS: u32 = 1000;
/// TSC cycles a cross-partition `ping` waits before its first IPI (every vCPU is in its guest by then).
const CROSS_START_DELAY_CYCLES: u64 = 50_000_000;
/// TSC cycles of quiet after the exchange in which no further IPI may arrive.
const QUIET_CYCLES: u64 = 2_000_000;
/// Set by an intra-partition `pong` once it is ready to count.
static PONG_READY: AtomicBool = AtomicBool::new(false);

/// The vector of round `round`: 32..=255 in turn.
pub const fn vector_of(round: u32) -> u8 {
    (32 + round % 224) as u8
}

/// One side of the exchange.
#[derive(Clone, Copy, Debug)]
pub struct Side {
    pub scenario: &'static str,
    pub ping: bool,
    pub wait: Wait,
    pub vcpu: usize,
    pub peer_apic_id: u32,
    pub intra: bool,
}

/// Runs `side` of the exchange and prints its SUMMARY line.
pub fn run(side: Side) -> TestResult {
    let ipiv = probe::ipiv_on(side.vcpu)?;
    let mut counts = [0u32; 256];
    for (vector, count) in counts.iter_mut().enumerate() {
        *count = idt::arrivals(side.vcpu, vector as u8);
    }
    let baseline = idt::total_arrivals(side.vcpu);
    synchronize(side)?;
    let meter = Meter::start()?;
    let start_cycles = cpu::rdtsc();
    exchange(side, &mut counts)?;
    let cycles = cpu::rdtsc() - start_cycles;
    let exits = meter.stop()?;
    wait::quiet(QUIET_CYCLES);
    let delivered = idt::total_arrivals(side.vcpu) - baseline;
    if delivered != u64::from(ROUND_TRIPS) {
        return fail!("{delivered} IPIs arrived, expected {ROUND_TRIPS}");
    }
    let line = summary(side, ipiv, exits, cycles);
    println!("{line}");
    Ok(())
}

/// `ping` starts only when `pong` can count.
fn synchronize(side: Side) -> TestResult {
    match (side.intra, side.ping) {
        (true, false) => PONG_READY.store(true, Ordering::Release),
        (true, true) => {
            if !time::wait_until(wait::TIMEOUT_CYCLES, || PONG_READY.load(Ordering::Acquire)) {
                return fail!("pong never got ready");
            }
        }
        (false, true) => time::delay(CROSS_START_DELAY_CYCLES),
        (false, false) => {}
    }
    Ok(())
}

fn exchange(side: Side, counts: &mut [u32; 256]) -> TestResult {
    for round in 0..ROUND_TRIPS {
        let vector = vector_of(round);
        if side.ping {
            apic::send_fixed(side.peer_apic_id, vector);
            receive(side, vector, round, counts)?;
        } else {
            receive(side, vector, round, counts)?;
            apic::send_fixed(side.peer_apic_id, vector);
        }
    }
    Ok(())
}

/// Waits for round `round`'s vector and checks it arrived exactly once more.
fn receive(side: Side, vector: u8, round: u32, counts: &mut [u32; 256]) -> TestResult {
    let seen = counts[usize::from(vector)];
    if !wait::arrival(side.vcpu, vector, seen, side.wait) {
        return fail!("round {round}: vector {vector:#x} did not arrive");
    }
    counts[usize::from(vector)] = seen + 1;
    let now = idt::arrivals(side.vcpu, vector);
    if now != seen + 1 {
        return fail!(
            "round {round}: vector {vector:#x} arrived {} times",
            now - seen
        );
    }
    Ok(())
}

/// `SUMMARY scenario=<s> side=<ping|pong> ipiv=<on|off> ipis=<sent> delivered=<received>
/// sender_exits=<n> receiver_exits=<n>`, then `cycles_per_round_trip=<n>` on the ping side (it
/// times whole round trips) or `cycles_in_exchange=<n>` on the pong side (from its start, which
/// precedes the first ping).
pub fn summary(side: Side, ipiv: bool, exits: Exits, cycles: u64) -> Line {
    let mut line = Line::new();
    let _ = core::fmt::write(
        &mut line,
        format_args!(
            "SUMMARY scenario={}-{} side={} ipiv={} ipis={ROUND_TRIPS} delivered={ROUND_TRIPS} sender_exits={} receiver_exits={} ",
            side.scenario,
            side.wait.name(),
            if side.ping { "ping" } else { "pong" },
            probe::ipiv_name(ipiv),
            exits.sends(),
            exits.others(),
        ),
    );
    let _ = match side.ping {
        true => core::fmt::write(
            &mut line,
            format_args!("cycles_per_round_trip={}", cycles / u64::from(ROUND_TRIPS)),
        ),
        false => core::fmt::write(&mut line, format_args!("cycles_in_exchange={cycles}")),
    };
    line
}

/// A SUMMARY line.
pub type Line = heapless::String<256>;
