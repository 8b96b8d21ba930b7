//! `timer-deadline`: each vCPU arms `TICKS` TSC deadlines at a fixed period (absolute: deadline i
//! is start + i x period, so lateness never accumulates), halting or spinning between them. It
//! records each tick's lateness (handler entry TSC minus deadline), counts ticks that never came,
//! checks IA32_TSC_DEADLINE reads 0 once fired, and reports the exits the ticks cost.

use crate::kinds::TimerExits;
use crate::stats::Lateness;
use tessera_guest::exits::Meter;
use tessera_guest::timer::{self, Mode};
use tessera_guest::{cpu, fail, idt, println, BootInfo, Failure};

/// Ticks per vCPU.
pub const TICKS: u64 = 100;
/// TSC cycles between two deadlines.
pub const PERIOD_CYCLES: u64 = 200_000;
/// The timer vector.
pub const VECTOR: u8 = 0xEC;
/// A tick not taken within this many periods counts as lost (polling only: a halted vCPU that
/// loses a tick never wakes, and the scenario times out).
const LOST_AFTER_PERIODS: u64 = 50;

/// How a vCPU waits for its tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    Halt,
    Poll,
}

/// What a run of ticks measured.
pub struct Ticks {
    pub taken: u64,
    pub lost: u64,
    pub exits: TimerExits,
    pub lateness: (u64, u64, u64),
}

/// Runs `TICKS` deadlines and prints the SUMMARY line; fails on a lost tick, an uncleared MSR or
/// more than two exits per tick.
pub fn run(info: &BootInfo, wait: Wait) -> Result<Ticks, Failure> {
    let ticks = measure(info, wait, TICKS)?;
    let side = match wait {
        Wait::Halt => "halt",
        Wait::Poll => "poll",
    };
    report("timer-deadline", side, info, &ticks);
    check(info, &ticks, TICKS)?;
    Ok(ticks)
}

/// Prints a run's SUMMARY lines (three, each short enough for one console line): ticks and
/// exits per tick, exits by kind, lateness.
pub fn report(scenario: &str, side: &str, info: &BootInfo, t: &Ticks) {
    let per_tick_hundredths = t.exits.total() * 100 / t.taken.max(1);
    let who = Who(scenario, side, info.vcpu_index);
    println!(
        "SUMMARY {who} timer={} ticks={} lost={} exits={} exits_per_tick={}.{:02} ",
        crate::path::name(info),
        t.taken,
        t.lost,
        t.exits.total(),
        per_tick_hundredths / 100,
        per_tick_hundredths % 100,
    );
    println!(
        "SUMMARY {who} arm_exits={} expiry_exits={} other_exits={} read_exits={} ",
        t.exits.arm, t.exits.expiry, t.exits.other, t.exits.read
    );
    println!(
        "SUMMARY {who} late_min={} late_median={} late_max={} period={PERIOD_CYCLES} ",
        t.lateness.0, t.lateness.1, t.lateness.2
    );
}

/// `scenario=<s> side=<side> vcpu=<i>`: what every SUMMARY line of a run starts with.
struct Who<'a>(&'a str, &'a str, u32);

impl core::fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "scenario={} side={} vcpu={}", self.0, self.1, self.2)
    }
}

/// The hypervisor's promises for `expected` ticks: none lost; on the trapped path at most one exit
/// to arm and one to deliver each, none of any other kind; on APIC-timer virtualization no exit
/// at all (reads of the deadline included).
pub fn check(info: &BootInfo, t: &Ticks, expected: u64) -> Result<(), Failure> {
    if t.lost != 0 || t.taken != expected {
        return Err(Failure::new(format_args!(
            "{} of {expected} ticks taken, {} lost",
            t.taken, t.lost
        )));
    }
    if t.exits.arm > expected || t.exits.expiry > expected || t.exits.other != 0 {
        return Err(Failure::new(format_args!(
            "too many exits for {expected} ticks: {:?}",
            t.exits
        )));
    }
    let virtualized = crate::path::name(info) == "virtualized";
    if virtualized && t.exits.total() + t.exits.read != 0 {
        return Err(Failure::new(format_args!(
            "the virtualized timer exited for {expected} ticks: {:?}",
            t.exits
        )));
    }
    Ok(())
}

/// Ticks `count` deadlines `PERIOD_CYCLES` apart.
pub fn measure(info: &BootInfo, wait: Wait, count: u64) -> Result<Ticks, Failure> {
    let vcpu = info.vcpu_index as usize;
    timer::set_lvt(Mode::TscDeadline, VECTOR, false);
    let meter = Meter::start()?;
    let start = cpu::rdtsc() + PERIOD_CYCLES;
    let mut lateness = Lateness::new();
    let (mut taken, mut lost) = (0, 0);
    for i in 0..count {
        let deadline = start + i * PERIOD_CYCLES;
        let seen = idt::arrivals(vcpu, VECTOR);
        timer::arm_deadline(deadline);
        if !tick(vcpu, seen, wait) {
            lost += 1;
            timer::arm_deadline(0);
            continue;
        }
        taken += 1;
        lateness.record(idt::last_arrival_tsc(vcpu).wrapping_sub(deadline));
        if timer::deadline() != 0 {
            cpu::disable_interrupts();
            return fail!(
                "IA32_TSC_DEADLINE reads {:#x} after tick {i} fired",
                timer::deadline()
            );
        }
    }
    cpu::disable_interrupts();
    let exits = TimerExits::of(&meter.stop()?);
    Ok(Ticks {
        taken,
        lost,
        exits,
        lateness: lateness.summary(),
    })
}

/// Waits for one more arrival of `VECTOR` than `seen`; false if it never comes (polling).
fn tick(vcpu: usize, seen: u32, wait: Wait) -> bool {
    let give_up = cpu::rdtsc() + LOST_AFTER_PERIODS * PERIOD_CYCLES;
    loop {
        cpu::disable_interrupts();
        if idt::arrivals(vcpu, VECTOR) > seen {
            return true;
        }
        match wait {
            Wait::Halt => cpu::enable_interrupts_and_halt(),
            Wait::Poll if cpu::rdtsc() > give_up => return false,
            Wait::Poll => {
                cpu::enable_interrupts();
                core::hint::spin_loop();
            }
        }
    }
}
