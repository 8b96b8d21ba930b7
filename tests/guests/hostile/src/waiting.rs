//! Scenario `isolation-waiting`: the `intruder` aims INIT, start-up and NMI IPIs at the `sleeper`,
//! a partition whose vCPU 1 waits for its own INIT/SIPI, and at the sleeper's running vCPU 0, over
//! an exitless route (which carries fixed IPIs only). Every one must be denied and counted; then a
//! fixed IPI over the route tells the sleeper it is done. The sleeper checks that its vCPU 1 did
//! not start and that no NMI arrived, then starts vCPU 1 itself, which must come up normally and
//! see no NMI either: what the intruder sent neither started, disturbed nor used up the vCPU.

use core::sync::atomic::{AtomicU32, Ordering};
use tessera_guest::{
    apic, cpu, fail, hypercall, idt, println, time, BootInfo, PeerRoute, TestResult,
};

/// The intruder's "done" signal to the sleeper's vCPU 0 (a fixed IPI the route allows).
pub const DONE_VECTOR: u8 = 0x60;
const NMI_VECTOR: u8 = 2;
/// INIT level de-assert: INIT delivery, level-triggered, level bit clear.
const INIT_DEASSERT_BITS: u64 = 0b101 << 8 | 1 << 15;
/// Destination shorthand "all excluding self" (bits 19:18 = 11b).
const ALL_EXCLUDING_SELF: u64 = 0b11 << 18;
/// How long the sleeper waits for the intruder, in TSC cycles.
const DONE_TIMEOUT_CYCLES: u64 = 2_000_000_000;
/// How long the sleeper then leaves for anything stray to land, and vCPU 1 watches for an NMI.
const GRACE_CYCLES: u64 = 10_000_000;
/// vCPUs of the sleeper that ran `run` (vCPU 1 must not before vCPU 0 starts it).
static SLEEPERS_UP: AtomicU32 = AtomicU32::new(0);
/// Set by the sleeper's vCPU 1 once it watched for NMIs: 1 none came, 2 one did.
static LATE_VCPU_VERDICT: AtomicU32 = AtomicU32::new(0);

/// The IPIs the intruder sends: (what, ICR value, denied by the hypervisor).
fn attacks(waiting: u32, running: u32) -> [(&'static str, u64, bool); 11] {
    [
        ("INIT to the waiting vCPU", apic::init_icr(waiting), true),
        (
            "INIT de-assert to the waiting vCPU",
            u64::from(waiting) << 32 | INIT_DEASSERT_BITS,
            true,
        ),
        (
            "start-up to the waiting vCPU",
            apic::startup_icr(waiting, 0x10),
            true,
        ),
        (
            "second start-up to the waiting vCPU",
            apic::startup_icr(waiting, 0x10),
            true,
        ),
        ("NMI to the waiting vCPU", apic::nmi_icr(waiting), true),
        ("NMI to the running vCPU", apic::nmi_icr(running), true),
        ("INIT to the running vCPU", apic::init_icr(running), true),
        (
            "start-up to the running vCPU",
            apic::startup_icr(running, 0x10),
            true,
        ),
        // Shorthands stay inside the sender's partition, which has no other vCPU: nothing to deny.
        (
            "NMI to all but self",
            apic::nmi_icr(0) | ALL_EXCLUDING_SELF,
            false,
        ),
        (
            "INIT to all but self",
            apic::init_icr(0) | ALL_EXCLUDING_SELF,
            false,
        ),
        (
            "start-up to all but self",
            apic::startup_icr(0, 0x10) | ALL_EXCLUDING_SELF,
            false,
        ),
    ]
}

pub fn intruder(info: &BootInfo) -> TestResult {
    let exitless = PeerRoute::Exitless as u32;
    let sleeper = |vcpu: u16| {
        info.peers()
            .iter()
            .find(|p| p.route == exitless && p.vcpu_index == vcpu)
            .map(|p| p.virtual_apic_id)
    };
    let (Some(running), Some(waiting)) = (sleeper(0), sleeper(1)) else {
        return fail!("no exitless route to both vCPUs of the sleeper in the boot info");
    };
    let before = denied()?;
    let mut expected = 0;
    for (what, icr, denied) in attacks(waiting, running) {
        apic::write_icr(icr);
        expected += u64::from(denied);
        println!("sent {what} (ICR {icr:#x})");
    }
    let counted = denied()? - before;
    apic::send_fixed(running, DONE_VECTOR);
    println!("SUMMARY scenario=isolation-waiting side=intruder sent=11 denied={counted} expected_denied={expected}");
    if counted != expected {
        return fail!("the hypervisor counted {counted} denied IPIs, {expected} were sent to another partition");
    }
    Ok(())
}

pub fn sleeper(info: &BootInfo) -> TestResult {
    SLEEPERS_UP.fetch_add(1, Ordering::AcqRel);
    cpu::enable_interrupts();
    if info.vcpu_index != 0 {
        return late_vcpu(info);
    }
    let done = time::wait_until(DONE_TIMEOUT_CYCLES, || idt::arrivals(0, DONE_VECTOR) > 0);
    if !done {
        return fail!("the intruder's done signal never came");
    }
    time::delay(GRACE_CYCLES);
    let (up, nmis) = (
        SLEEPERS_UP.load(Ordering::Acquire),
        idt::arrivals(0, NMI_VECTOR),
    );
    println!("after the intruder: {up} vCPU(s) up, {nmis} NMI(s) on vcpu 0");
    if up != 1 || nmis != 0 {
        return fail!("the intruder reached the partition: {up} vCPUs up, {nmis} NMIs");
    }
    let Some(late) = info
        .peers()
        .iter()
        .find(|p| p.route == PeerRoute::OwnPartition as u32 && p.vcpu_index == 1)
    else {
        return fail!("no vcpu 1 in the boot info");
    };
    apic::start_vcpu(late.virtual_apic_id);
    let verdict = time::wait_until(DONE_TIMEOUT_CYCLES, || {
        LATE_VCPU_VERDICT.load(Ordering::Acquire) != 0
    });
    match (verdict, LATE_VCPU_VERDICT.load(Ordering::Acquire)) {
        (true, 1) => {
            println!("vcpu 1 started by its own partition, no NMI: the intruder changed nothing");
            Ok(())
        }
        (true, _) => fail!("vcpu 1 took an NMI when it started"),
        (false, _) => fail!("vcpu 1 did not start when its own partition started it"),
    }
}

/// The sleeper's vCPU 1, once its partition started it: watches for an NMI for a while.
fn late_vcpu(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    time::delay(GRACE_CYCLES);
    let nmis = idt::arrivals(vcpu, NMI_VECTOR);
    LATE_VCPU_VERDICT.store(if nmis == 0 { 1 } else { 2 }, Ordering::Release);
    match nmis {
        0 => Ok(()),
        n => fail!("{n} NMI(s) arrived after the start"),
    }
}

fn denied() -> Result<u64, tessera_guest::Failure> {
    hypercall::denied_ipis()
        .map_err(|e| tessera_guest::Failure::new(format_args!("denied-IPI count: {e:?}")))
}
