//! Scenario `ipi-fuzz`: the `fuzzer` writes 10,000 pseudo-random x2APIC ICR values (seeded, the
//! seed printed) at its own partition, its routes' targets and IDs it has no route to. Before each
//! write it predicts the value's fate from its boot info (`icr_model`): a #GP (checked by the
//! write faulting, and only then), an IPI that stays home, one a route carries, or a denial; at the
//! end the hypervisor's denied-IPI count must equal the predicted denials. `friend` (exitless
//! route) and `guarded` (trapped route) count what arrives and what waits in their IRR; `stranger`
//! (no route from the fuzzer; `friend` tells it when the fuzz is over) must see nothing at all, and
//! `guarded` nothing outside its route's vectors.

use crate::icr_model::{predict, Outcome};
use tessera_guest::{
    apic, cpu, fail, fault_probe, hypercall, idt, println, time, BootInfo, PeerRoute, TestResult,
};

/// ICR values the fuzzer writes.
pub const ICRS: u32 = 10_000;
/// The PRNG seed (xorshift64*; printed with every result and failure).
pub const SEED: u64 = 0x7E55_E2A1_1CE5_EED5;
/// Sent by the fuzzer to its route targets when done, and by `friend` on to `stranger`; the fuzz
/// never writes vectors above 0xFD, so only these signals carry it.
pub const DONE_VECTOR: u8 = 0xFE;
/// Task priority every partition of the scenario runs at: vectors 16-31 (which the guest IDT cannot tell from
/// exceptions) stay in the IRR, where the receivers read them.
const RECEIVER_TPR: u8 = 0x10;
const NMI_VECTOR: u8 = 2;
const X2APIC_ICR: u32 = 0x830;
/// How long a receiver waits for the done signal, in TSC cycles.
const DONE_TIMEOUT_CYCLES: u64 = 5_000_000_000;
/// How long a receiver leaves for stray IPIs after the done signal.
const GRACE_CYCLES: u64 = 5_000_000;

/// xorshift64* (Vigna), enough to spread ICR fields.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One pseudo-random ICR value: every field random, biased towards no shorthand and towards
/// destinations that matter (own ID, route targets, broadcast, small IDs, logical IDs, anything).
fn random_icr(rng: &mut Rng, targets: &[u32; 3]) -> u64 {
    let r = rng.next();
    let vector = (r % 0xFE) as u8;
    let mut low = u64::from(vector) | (r >> 8 & 7) << 8 | (r >> 14 & 3) << 14;
    low |= if r >> 11 & 3 == 0 { 1 << 11 } else { 0 };
    low |= if r >> 20 & 7 >= 5 {
        (r >> 18 & 3) << 18
    } else {
        0
    };
    low |= if r >> 23 & 31 == 0 { 1 << 12 } else { 0 };
    let d = rng.next();
    let destination = match d & 7 {
        0..=2 => targets[(d >> 3) as usize % 3],
        3 => 0xFFFF_FFFF,
        4 => (d >> 8) as u32 & 0x3F,
        5 => (d >> 8) as u32 & 0xF_FFFF,
        6 => (d >> 8) as u32 & 0xFFFF,
        _ => (d >> 32) as u32,
    };
    if r >> 28 & 15 == 0 {
        const RESERVED: [u32; 15] = [13, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31];
        low |= 1 << RESERVED[(r >> 32) as usize % RESERVED.len()];
    }
    u64::from(destination) << 32 | low
}

/// Predicted fates, counted.
#[derive(Default)]
struct Tally {
    faults: u64,
    denied: u64,
    own: u64,
    to_peers: u64,
}

pub fn fuzzer(info: &BootInfo) -> TestResult {
    let route = |kind: PeerRoute| info.peers().iter().find(|p| p.route == kind as u32);
    let (Some(friend), Some(guarded)) = (route(PeerRoute::Exitless), route(PeerRoute::Trapped))
    else {
        return fail!("seed {SEED:#x}: no exitless and trapped route in the boot info");
    };
    let targets = [
        info.virtual_apic_id,
        friend.virtual_apic_id,
        guarded.virtual_apic_id,
    ];
    let Ok(denied_before) = hypercall::denied_ipis() else {
        return fail!("seed {SEED:#x}: no denied-IPI count");
    };
    // IPIs to itself may carry vectors 16-31, which the guest IDT cannot tell from exceptions:
    // they stay in the IRR below this task priority.
    apic::set_task_priority(RECEIVER_TPR);
    let (mut rng, mut tally) = (Rng(SEED), Tally::default());
    for i in 0..ICRS {
        let icr = random_icr(&mut rng, &targets);
        let outcome = predict(icr, info.peers());
        let completed = fault_probe::write_x2apic(X2APIC_ICR, icr).is_none();
        if completed != (outcome != Outcome::Fault) {
            return fail!("seed {SEED:#x} ICR {i} = {icr:#x}: predicted {outcome:?}, write completed: {completed}");
        }
        match outcome {
            Outcome::Fault => tally.faults += 1,
            Outcome::Denied => tally.denied += 1,
            Outcome::Own => tally.own += 1,
            Outcome::Peer { .. } => tally.to_peers += 1,
        }
    }
    let Ok(denied_after) = hypercall::denied_ipis() else {
        return fail!("seed {SEED:#x}: no denied-IPI count");
    };
    apic::send_fixed(friend.virtual_apic_id, DONE_VECTOR);
    apic::send_fixed(guarded.virtual_apic_id, DONE_VECTOR);
    let counted = denied_after - denied_before;
    println!(
        "SUMMARY scenario=ipi-fuzz side=fuzzer seed={SEED:#x} icrs={ICRS} gp={} own={} routed={} denied={} counted={counted} nmis={}",
        tally.faults, tally.own, tally.to_peers, tally.denied, idt::arrivals(0, NMI_VECTOR)
    );
    if counted != tally.denied {
        return fail!(
            "seed {SEED:#x}: the hypervisor denied {counted} IPIs, {} predicted",
            tally.denied
        );
    }
    Ok(())
}

/// `friend`, `guarded` and `stranger`: count until the done signal, then check what came.
pub fn receiver(info: &BootInfo) -> TestResult {
    apic::set_task_priority(RECEIVER_TPR);
    cpu::enable_interrupts();
    let done = time::wait_until(DONE_TIMEOUT_CYCLES, || idt::arrivals(0, DONE_VECTOR) > 0);
    if !done {
        return fail!("no done signal");
    }
    time::delay(GRACE_CYCLES);
    cpu::disable_interrupts();
    if info.name() == "friend" {
        let stranger = info
            .peers()
            .iter()
            .find(|p| p.route == PeerRoute::Trapped as u32);
        let Some(stranger) = stranger else {
            return fail!("no trapped route to the stranger in the boot info");
        };
        apic::send_fixed(stranger.virtual_apic_id, DONE_VECTOR);
    }
    let allowed: &[u8] = match info.name() {
        "friend" => &[],
        "guarded" => &[0x70, 0x71, DONE_VECTOR],
        _ => &[DONE_VECTOR],
    };
    let irr = apic::irr();
    let pending = |v: u8| irr[usize::from(v / 32)] & 1 << (v % 32) != 0;
    let (mut arrived, mut waiting, mut outside) = (0u64, 0u64, 0u64);
    for vector in 0..=255u8 {
        let count = u64::from(idt::arrivals(0, vector)) + u64::from(pending(vector));
        arrived += u64::from(idt::arrivals(0, vector));
        waiting += u64::from(pending(vector));
        let unexpected = vector < 16 || (!allowed.is_empty() && !allowed.contains(&vector));
        outside += if unexpected { count } else { 0 };
    }
    println!(
        "SUMMARY scenario=ipi-fuzz side={} arrived={arrived} waiting={waiting} outside_route={outside} nmis={}",
        info.name(),
        idt::arrivals(0, NMI_VECTOR)
    );
    if outside != 0 {
        return fail!(
            "{outside} IPIs outside what the fuzzer's route to it allows (seed {SEED:#x})"
        );
    }
    Ok(())
}
