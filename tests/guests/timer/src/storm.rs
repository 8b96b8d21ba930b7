//! The timer storm: `storm` arms IA32_TSC_DEADLINE in the past as fast as it can (each arm fires at
//! once), slowing only itself, while `bystander` ticks its own deadlines and times a fixed piece of
//! work before the storm and during it. The bystander starts and ends the storm with IPIs over an
//! exitless route, so both phases see the storm's CPU equally busy (spinning, then storming).

use crate::deadline::{self, Wait};
use crate::kinds::TimerExits;
use tessera_guest::exits::Meter;
use tessera_guest::timer::{self, Mode};
use tessera_guest::{apic, cpu, fail, idt, println, time, BootInfo, PeerRoute, TestResult};

/// IPI vectors the bystander sends to the storm.
const START_VECTOR: u8 = 0x50;
const STOP_VECTOR: u8 = 0x51;
/// The storm's timer vector.
const STORM_VECTOR: u8 = 0xE0;
/// Ticks the bystander takes in each phase.
const BYSTANDER_TICKS: u64 = 50;
/// Rounds of the bystander's fixed piece of work.
const WORK_ROUNDS: u64 = 20_000;
/// Fewest expiries that count as a storm.
const MIN_STORM: u64 = 100;
const WAIT_CYCLES: u64 = 4_000_000_000;

/// The storm: waits for the start IPI spinning, then arms past deadlines until the stop IPI.
pub fn storm(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    timer::set_lvt(Mode::TscDeadline, STORM_VECTOR, false);
    cpu::enable_interrupts();
    if !time::wait_until(WAIT_CYCLES, || idt::arrivals(vcpu, START_VECTOR) > 0) {
        return fail!("the bystander never started the storm");
    }
    let meter = Meter::start()?;
    let mut armed = 0u64;
    while idt::arrivals(vcpu, STOP_VECTOR) == 0 {
        timer::arm_deadline(1);
        armed += 1;
    }
    cpu::disable_interrupts();
    let exits = TimerExits::of(&meter.stop()?);
    let fired = u64::from(idt::arrivals(vcpu, STORM_VECTOR));
    println!(
        "SUMMARY scenario=timer-storm side=storm timer={} armed={armed} fired={fired} exits={} \
         arm_exits={} ",
        crate::path::name(info),
        exits.total(),
        exits.arm
    );
    if armed < MIN_STORM || fired == 0 {
        return fail!("storm too small: {armed} arms, {fired} expiries");
    }
    Ok(())
}

/// The bystander: the same ticks and work before and during the storm.
pub fn bystander(info: &BootInfo) -> TestResult {
    let Some(storm) = info
        .peers()
        .iter()
        .find(|p| p.route == PeerRoute::Exitless as u32)
    else {
        return fail!("no exitless route to the storm in the boot info");
    };
    let quiet = phase(info)?;
    apic::send_fixed(storm.virtual_apic_id, START_VECTOR);
    let stormy = phase(info)?;
    apic::send_fixed(storm.virtual_apic_id, STOP_VECTOR);
    println!(
        "SUMMARY scenario=timer-storm side=bystander timer={} ticks={} lost={} exits_quiet={} \
         exits_storm={} ",
        crate::path::name(info),
        stormy.ticks.taken,
        quiet.ticks.lost + stormy.ticks.lost,
        quiet.ticks.exits.total(),
        stormy.ticks.exits.total(),
    );
    for (when, p) in [("quiet", &quiet), ("storm", &stormy)] {
        let (min, median, max) = p.ticks.lateness;
        println!(
            "SUMMARY scenario=timer-storm side=bystander phase={when} late_min={min} \
             late_median={median} late_max={max} work_cycles={} ",
            p.work_cycles
        );
    }
    deadline::check(info, &quiet.ticks, BYSTANDER_TICKS)?;
    deadline::check(info, &stormy.ticks, BYSTANDER_TICKS)?;
    if quiet.ticks.exits != stormy.ticks.exits {
        return fail!(
            "exits moved: {:?} quiet, {:?} during the storm",
            quiet.ticks.exits,
            stormy.ticks.exits
        );
    }
    Ok(())
}

struct Phase {
    ticks: deadline::Ticks,
    work_cycles: u64,
}

fn phase(info: &BootInfo) -> Result<Phase, tessera_guest::Failure> {
    let ticks = deadline::measure(info, Wait::Halt, BYSTANDER_TICKS)?;
    let start = cpu::rdtsc();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..WORK_ROUNDS {
        x = core::hint::black_box(x.rotate_left(5) ^ x.wrapping_mul(0x100_0000_01B3));
    }
    let work_cycles = cpu::rdtsc() - start;
    let _ = core::hint::black_box(x);
    Ok(Phase { ticks, work_cycles })
}
