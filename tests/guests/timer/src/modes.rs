//! `timer-modes`: the local APIC timer's one-shot and periodic modes, a masked LVT, a vector
//! change, every divide value, and the TSC-deadline rules (0 disarms, a mode change disarms, a
//! past deadline fires at once, the MSR reads 0 outside TSC-deadline mode). Each case checks what
//! bare metal does and prints a SUMMARY line with its figures (cycles are TSC cycles).

use crate::kinds::TimerExits;
use tessera_guest::exits::Meter;
use tessera_guest::timer::{self, Mode};
use tessera_guest::{cpu, fail, idt, println, time, BootInfo, TestResult};

/// Divide configuration values and their divisors (SDM Vol. 3A Figure 11-10).
const DIVIDES: [(u32, u32); 8] = [
    (0b1011, 1),
    (0b0000, 2),
    (0b0001, 4),
    (0b0010, 8),
    (0b0011, 16),
    (0b1000, 32),
    (0b1001, 64),
    (0b1010, 128),
];
/// Counts x divisor of every divide case, in TSC cycles (1 APIC timer count = `tsc_per_count`).
const DIVIDE_CASE_CYCLES: u32 = 40_960;
/// Cycles a case waits to be sure nothing more arrives.
const QUIET_CYCLES: u64 = 100_000;
/// Longest wait for an expected interrupt.
const TIMEOUT_CYCLES: u64 = 50_000_000;

pub fn run(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    let tsc_per_count = info.tsc_hz / info.apic_timer_hz.max(1);
    one_shot(vcpu, tsc_per_count)?;
    periodic(vcpu, tsc_per_count)?;
    masked(vcpu)?;
    vector_change(vcpu)?;
    divide(vcpu, tsc_per_count)?;
    deadline_rules(vcpu)?;
    deadline_handover(vcpu)?;
    println!("SUMMARY scenario=timer-modes cases=7 result=pass ");
    Ok(())
}

/// Waits (interrupts on) until `vector` has arrived `count` times in all; false on timeout.
fn wait_for(vcpu: usize, vector: u8, count: u32) -> bool {
    cpu::enable_interrupts();
    let arrived = time::wait_until(TIMEOUT_CYCLES, || idt::arrivals(vcpu, vector) >= count);
    cpu::disable_interrupts();
    arrived
}

/// Lets interrupts in for `QUIET_CYCLES`; true if `vector` did not arrive meanwhile.
fn stays_quiet(vcpu: usize, vector: u8) -> bool {
    let before = idt::arrivals(vcpu, vector);
    cpu::enable_interrupts();
    time::delay(QUIET_CYCLES);
    cpu::disable_interrupts();
    idt::arrivals(vcpu, vector) == before
}

fn one_shot(vcpu: usize, tsc_per_count: u64) -> TestResult {
    const VECTOR: u8 = 0x40;
    const COUNT: u32 = 20_000;
    timer::set_divide_configuration(0b1011);
    timer::set_lvt(Mode::OneShot, VECTOR, false);
    let meter = Meter::start()?;
    let armed = cpu::rdtsc();
    timer::set_initial_count(COUNT);
    let running = timer::current_count();
    if !wait_for(vcpu, VECTOR, 1) {
        return fail!("one-shot: no interrupt");
    }
    let elapsed = idt::last_arrival_tsc(vcpu) - armed;
    let exits = TimerExits::of(&meter.stop()?);
    let after = timer::current_count();
    if running == 0 || running > COUNT || after != 0 || elapsed < u64::from(COUNT) * tsc_per_count {
        return fail!("one-shot: count {running} while running, {after} after, {elapsed} cycles");
    }
    if !stays_quiet(vcpu, VECTOR) {
        return fail!("one-shot: a second interrupt");
    }
    println!(
        "SUMMARY scenario=timer-modes case=one-shot count={COUNT} elapsed={elapsed} arrivals=1 \
         count_after=0 exits={} ",
        exits.total()
    );
    Ok(())
}

fn periodic(vcpu: usize, tsc_per_count: u64) -> TestResult {
    const VECTOR: u8 = 0x41;
    const COUNT: u32 = 10_000;
    const TICKS: u32 = 10;
    timer::set_lvt(Mode::Periodic, VECTOR, false);
    let meter = Meter::start()?;
    let mut last = cpu::rdtsc();
    timer::set_initial_count(COUNT);
    let (mut shortest, mut longest) = (u64::MAX, 0);
    for tick in 1..=TICKS {
        if !wait_for(vcpu, VECTOR, tick) {
            return fail!("periodic: tick {tick} never came");
        }
        let at = idt::last_arrival_tsc(vcpu);
        (shortest, longest) = (shortest.min(at - last), longest.max(at - last));
        last = at;
    }
    timer::set_initial_count(0);
    let exits = TimerExits::of(&meter.stop()?);
    if !stays_quiet(vcpu, VECTOR) {
        return fail!("periodic: an interrupt after the count was stopped");
    }
    let period = u64::from(COUNT) * tsc_per_count;
    if shortest < period / 2 || longest > 3 * period {
        return fail!("periodic: periods {shortest}..{longest} cycles for {period}");
    }
    println!(
        "SUMMARY scenario=timer-modes case=periodic count={COUNT} ticks={TICKS} period_min={shortest} \
         period_max={longest} after_stop=0 exits={} ",
        exits.total()
    );
    Ok(())
}

fn masked(vcpu: usize) -> TestResult {
    const VECTOR: u8 = 0x42;
    timer::set_lvt(Mode::OneShot, VECTOR, true);
    timer::set_initial_count(10_000);
    cpu::enable_interrupts();
    let ran_out = time::wait_until(TIMEOUT_CYCLES, || timer::current_count() == 0);
    cpu::disable_interrupts();
    if !ran_out || !stays_quiet(vcpu, VECTOR) || idt::arrivals(vcpu, VECTOR) != 0 {
        return fail!(
            "masked: count ran out {ran_out}, arrivals {}",
            idt::arrivals(vcpu, VECTOR)
        );
    }
    println!("SUMMARY scenario=timer-modes case=masked count_ran_out=1 arrivals=0 ");
    Ok(())
}

fn vector_change(vcpu: usize) -> TestResult {
    const FIRST: u8 = 0x43;
    const SECOND: u8 = 0x44;
    timer::set_lvt(Mode::Periodic, FIRST, false);
    timer::set_initial_count(10_000);
    if !wait_for(vcpu, FIRST, 3) {
        return fail!("vector change: the first vector never came three times");
    }
    timer::set_lvt(Mode::Periodic, SECOND, false);
    let second_came = wait_for(vcpu, SECOND, 3);
    timer::set_initial_count(0);
    let first = idt::arrivals(vcpu, FIRST);
    if !second_came || first > 4 {
        return fail!("vector change: {first} on the old vector, new one came: {second_came}");
    }
    println!("SUMMARY scenario=timer-modes case=vector-change old_vector={first} new_vector=3 ");
    Ok(())
}

fn divide(vcpu: usize, tsc_per_count: u64) -> TestResult {
    const VECTOR: u8 = 0x45;
    timer::set_lvt(Mode::OneShot, VECTOR, false);
    let mut lines: [heapless::String<128>; 2] = Default::default();
    for (n, &(value, divisor)) in DIVIDES.iter().enumerate() {
        timer::set_divide_configuration(value);
        let armed = cpu::rdtsc();
        timer::set_initial_count(DIVIDE_CASE_CYCLES / divisor);
        if !wait_for(vcpu, VECTOR, n as u32 + 1) {
            return fail!("divide by {divisor}: no interrupt");
        }
        let elapsed = idt::last_arrival_tsc(vcpu) - armed;
        if elapsed < u64::from(DIVIDE_CASE_CYCLES) * tsc_per_count {
            return fail!("divide by {divisor}: {elapsed} cycles is early");
        }
        let line = &mut lines[n / 4];
        let _ = core::fmt::Write::write_fmt(line, format_args!("elapsed_{divisor}={elapsed} "));
    }
    timer::set_divide_configuration(0b1011);
    for line in &lines {
        println!("SUMMARY scenario=timer-modes case=divide cycles={DIVIDE_CASE_CYCLES} {line}");
    }
    Ok(())
}

fn deadline_rules(vcpu: usize) -> TestResult {
    const VECTOR: u8 = 0x46;
    timer::set_lvt(Mode::OneShot, VECTOR, false);
    timer::arm_deadline(cpu::rdtsc() + 1000);
    if timer::deadline() != 0 || !stays_quiet(vcpu, VECTOR) {
        return fail!(
            "deadline outside TSC-deadline mode: reads {:#x}",
            timer::deadline()
        );
    }
    timer::set_lvt(Mode::TscDeadline, VECTOR, false);
    timer::arm_deadline(cpu::rdtsc() + 50_000);
    timer::arm_deadline(0);
    let zero_disarms = stays_quiet(vcpu, VECTOR);
    timer::arm_deadline(cpu::rdtsc() + 50_000);
    timer::set_lvt(Mode::OneShot, VECTOR, false);
    let mode_change_disarms = stays_quiet(vcpu, VECTOR) && timer::deadline() == 0;
    timer::set_lvt(Mode::TscDeadline, VECTOR, false);
    let armed = cpu::rdtsc();
    timer::arm_deadline(1);
    let past_fires = wait_for(vcpu, VECTOR, 1);
    let delay = idt::last_arrival_tsc(vcpu).wrapping_sub(armed);
    if !(zero_disarms && mode_change_disarms && past_fires) {
        return fail!("deadline rules: 0 disarms {zero_disarms}, mode change disarms {mode_change_disarms}, past fires {past_fires}");
    }
    println!(
        "SUMMARY scenario=timer-modes case=deadline-rules zero_disarms=1 mode_change_disarms=1 \
         past_fires_after={delay} "
    );
    Ok(())
}

/// An armed deadline survives LVT rewrites that keep TSC-deadline mode (the hypervisor moves it
/// between APIC-timer virtualization and its trapped path on each one): masked, it reads back
/// unchanged and nothing arrives; unmasked again on another vector, it fires once, on the new
/// vector, no earlier than the deadline, and the MSR then reads 0. A deadline that passes while
/// masked delivers nothing, even once unmasked.
fn deadline_handover(vcpu: usize) -> TestResult {
    const OLD: u8 = 0x47;
    const NEW: u8 = 0x48;
    const AHEAD_CYCLES: u64 = 400_000;
    timer::set_lvt(Mode::TscDeadline, OLD, false);
    let deadline = cpu::rdtsc() + AHEAD_CYCLES;
    timer::arm_deadline(deadline);
    timer::set_lvt(Mode::TscDeadline, OLD, true);
    let kept_masked = timer::deadline();
    timer::set_lvt(Mode::TscDeadline, NEW, false);
    let kept_unmasked = timer::deadline();
    let (old_before, new_before) = (idt::arrivals(vcpu, OLD), idt::arrivals(vcpu, NEW));
    let fired = wait_for(vcpu, NEW, new_before + 1);
    let late = idt::last_arrival_tsc_of(vcpu, NEW).wrapping_sub(deadline) as i64;
    let once = stays_quiet(vcpu, NEW) && idt::arrivals(vcpu, OLD) == old_before;
    if kept_masked != deadline || kept_unmasked != deadline || !fired || late < 0 || !once {
        return fail!(
            "handover: deadline {deadline:#x} read {kept_masked:#x} masked, {kept_unmasked:#x} unmasked; fired {fired}, {late} cycles late, once {once}"
        );
    }
    if timer::deadline() != 0 {
        return fail!(
            "handover: the MSR reads {:#x} after the expiry",
            timer::deadline()
        );
    }
    timer::arm_deadline(cpu::rdtsc() + 20_000);
    timer::set_lvt(Mode::TscDeadline, NEW, true);
    time::delay(2 * 20_000);
    timer::set_lvt(Mode::TscDeadline, NEW, false);
    let expired_masked = stays_quiet(vcpu, NEW) && timer::deadline() == 0;
    if !expired_masked {
        return fail!(
            "handover: a deadline that passed while masked was delivered or still reads {:#x}",
            timer::deadline()
        );
    }
    println!(
        "SUMMARY scenario=timer-modes case=deadline-handover kept=1 vector_changed=1 masked_expiry_dropped=1 late={late} "
    );
    Ok(())
}
