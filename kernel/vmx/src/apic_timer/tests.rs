//! The timer model against the SDM's rules (11.5.4) and the bare-metal reference figures of
//! apic-timer-virt.md section 9 (1 count = 1 TSC cycle at divide 1 in the emulator).

use super::*;

const ONE_SHOT: u32 = 0x40;
const PERIODIC: u32 = 1 << 17 | 0x41;
const DEADLINE: u32 = 1 << 18 | 0x42;

fn timer(lvt: u32) -> ApicTimer {
    let mut t = ApicTimer::new(1);
    t.write_lvt(lvt, true);
    t.write_divide_configuration(0b1011, 0);
    t
}

#[test]
fn one_shot_counts_down_fires_once_and_stays_at_zero() {
    let mut t = timer(ONE_SHOT);
    t.write_initial_count(1000, 100);
    assert_eq!(t.next_expiry(), Some(1100));
    assert_eq!(t.current_count(100), 1000);
    assert_eq!(t.current_count(600), 500);
    assert_eq!(t.expire(1099), None);
    let fired = t.expire(1100).unwrap();
    assert_eq!(fired.vector, Some(0x40));
    assert_eq!((t.next_expiry(), t.current_count(1200)), (None, 0));
    assert_eq!(t.expire(5000), None, "fires once");
}

#[test]
fn periodic_reloads_without_drift_and_merges_missed_periods() {
    let mut t = timer(PERIODIC);
    t.write_initial_count(100, 0);
    assert_eq!(t.expire(130).unwrap().merged_periods, 0);
    assert_eq!(
        t.next_expiry(),
        Some(200),
        "the period counts from the deadline, not from now"
    );
    assert_eq!(t.current_count(150), 50);
    let late = t.expire(470).unwrap();
    assert_eq!((late.vector, late.merged_periods), (Some(0x41), 2));
    assert_eq!(t.next_expiry(), Some(500));
    assert_eq!(
        t.current_count(520),
        80,
        "past the deadline: counting in the next period"
    );
}

#[test]
fn the_divider_scales_the_period() {
    let mut t = timer(ONE_SHOT);
    t.write_divide_configuration(0b0011, 0);
    t.write_initial_count(2500, 0);
    assert_eq!(
        t.next_expiry(),
        Some(40_000),
        "2,500 counts at divide 16 = 40,000 at divide 1"
    );
    assert_eq!(t.current_count(16_000), 1500);
    t.write_divide_configuration(0b1011, 16_000);
    assert_eq!(
        t.next_expiry(),
        Some(17_500),
        "the rest counts at the new rate"
    );
    let mut slow = ApicTimer::new(3);
    slow.write_lvt(ONE_SHOT, true);
    slow.write_initial_count(10, 0);
    assert_eq!(
        slow.next_expiry(),
        Some(60),
        "reset divider 2, 3 TSC cycles a count"
    );
}

#[test]
fn zero_initial_count_stops_and_deadline_mode_ignores_counts() {
    let mut t = timer(PERIODIC);
    t.write_initial_count(100, 0);
    t.write_initial_count(0, 50);
    assert_eq!((t.next_expiry(), t.expire(1000)), (None, None));
    let mut d = timer(DEADLINE);
    d.write_initial_count(100, 0);
    assert_eq!(
        (d.next_expiry(), d.initial_count(), d.current_count(0)),
        (None, 0, 0)
    );
}

#[test]
fn tsc_deadline_arms_fires_clears_and_disarms_with_zero() {
    let mut t = timer(DEADLINE);
    t.write_tsc_deadline(5000);
    assert_eq!((t.tsc_deadline(), t.next_expiry()), (5000, Some(5000)));
    assert_eq!(t.expire(4999), None);
    assert_eq!(t.expire(5000).unwrap().vector, Some(0x42));
    assert_eq!(
        (t.tsc_deadline(), t.next_expiry()),
        (0, None),
        "the MSR reads 0 after firing"
    );
    t.write_tsc_deadline(9000);
    t.write_tsc_deadline(0);
    assert_eq!((t.next_expiry(), t.expire(10_000)), (None, None));
}

#[test]
fn a_deadline_in_the_past_fires_at_the_next_check() {
    let mut t = timer(DEADLINE);
    t.write_tsc_deadline(10);
    assert_eq!(t.expire(1_000_000).unwrap().vector, Some(0x42));
}

#[test]
fn tsc_deadline_writes_outside_deadline_mode_are_ignored_and_read_zero() {
    let mut t = timer(ONE_SHOT);
    t.write_tsc_deadline(5000);
    assert_eq!((t.tsc_deadline(), t.next_expiry()), (0, None));
}

#[test]
fn a_mode_change_disarms_but_a_vector_or_mask_change_does_not() {
    let mut t = timer(DEADLINE);
    t.write_tsc_deadline(5000);
    t.write_lvt(DEADLINE | LVT_MASK, true);
    assert_eq!(
        t.next_expiry(),
        Some(5000),
        "mask change keeps the deadline"
    );
    assert_eq!(t.expire(6000).unwrap().vector, None, "masked: no interrupt");
    t.write_tsc_deadline(7000);
    t.write_lvt(1 << 18 | 0x99, true);
    assert_eq!(
        t.expire(7000).unwrap().vector,
        Some(0x99),
        "new vector on the next expiry"
    );
    t.write_tsc_deadline(8000);
    t.write_lvt(ONE_SHOT, true);
    assert_eq!(
        (t.next_expiry(), t.tsc_deadline()),
        (None, 0),
        "mode change disarms"
    );
}

#[test]
fn masked_one_shot_runs_to_zero_without_an_interrupt() {
    let mut t = timer(ONE_SHOT | LVT_MASK);
    t.write_initial_count(100, 0);
    assert_eq!(t.current_count(50), 50);
    assert_eq!(
        t.expire(100),
        Some(Expiry {
            vector: None,
            merged_periods: 0
        })
    );
    assert_eq!(t.current_count(150), 0);
}

#[test]
fn software_disabling_masks_and_disarm_stops_everything() {
    let mut t = timer(PERIODIC);
    t.write_initial_count(10, 0);
    t.software_disable();
    assert!(t.lvt().masked());
    t.disarm();
    assert_eq!((t.next_expiry(), t.expire(u64::MAX)), (None, None));
}

#[test]
fn preemption_timer_values_never_expire_early() {
    assert_eq!(preemption_timer_value(1000, 400, 0), 600);
    assert_eq!(preemption_timer_value(1000, 1000, 0), 0);
    assert_eq!(preemption_timer_value(1000, 2000, 5), 0);
    // Rate 5: one step is 32 cycles; 600 cycles = 18.75 steps, rounded up, plus one step.
    assert_eq!(preemption_timer_value(1000, 400, 5), 20);
    assert_eq!(
        preemption_timer_value(u64::MAX, 0, 0),
        1 << 25,
        "capped (erratum EMR158)"
    );
}

#[test]
fn only_an_unmasked_tsc_deadline_timer_is_virtualized() {
    use super::registers::Lvt;
    assert_eq!(virtualized_vector(Lvt::written(DEADLINE, true)), Some(0x42));
    assert_eq!(
        virtualized_vector(Lvt::written(DEADLINE, false)),
        None,
        "APIC disabled"
    );
    assert_eq!(
        virtualized_vector(Lvt::written(DEADLINE | LVT_MASK, true)),
        None
    );
    assert_eq!(
        virtualized_vector(Lvt::written(1 << 18 | 0x0F, true)),
        None,
        "illegal vector"
    );
    assert_eq!(virtualized_vector(Lvt::written(ONE_SHOT, true)), None);
    assert_eq!(virtualized_vector(Lvt::written(PERIODIC, true)), None);
    assert_eq!(virtualized_vector(Lvt::RESET), None);
}

#[test]
fn a_deadline_moves_to_the_processor_and_back_unchanged() {
    let mut t = timer(DEADLINE);
    t.write_tsc_deadline(5000);
    assert_eq!(t.hand_over_deadline(), 5000);
    assert_eq!(
        (t.next_expiry(), t.tsc_deadline()),
        (None, 0),
        "nothing left armed here"
    );
    assert_eq!(hardware_fields(0x42, 5000), (0x42, 5000, 5000));
    // Back after an exit: armed, fired (0 saved) or written 0 by the guest.
    assert_eq!(armed_deadline(5000, 5000), 5000);
    assert_eq!(armed_deadline(0, 0), 0);
    assert_eq!(armed_deadline(0, 5000), 0, "a zero field means not armed");
    t.write_tsc_deadline(armed_deadline(5000, 5000));
    assert_eq!(t.next_expiry(), Some(5000));
    assert_eq!(
        t.expire(6000).map(|e| e.vector),
        Some(Some(0x42)),
        "past: fires at once"
    );
    let mut idle = timer(DEADLINE);
    assert_eq!(idle.hand_over_deadline(), 0);
    let mut periodic = timer(PERIODIC);
    periodic.write_initial_count(100, 0);
    assert_eq!(
        periodic.hand_over_deadline(),
        0,
        "only TSC-deadline mode is handed over"
    );
    assert_eq!(periodic.next_expiry(), Some(100));
}
