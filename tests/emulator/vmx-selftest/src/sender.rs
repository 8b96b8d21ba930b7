//! CPU 0: the sender guest writes each case's ICR value; the host checks what happened.

use crate::cases::{Case, Expect, Setup, CASES};
use crate::delivery::{deliveries, virtual_irr, DELIVERY_TIMEOUT_SPINS, QUIET_SPINS};
use crate::guest;
use crate::shared::{SENDER_PID, TARGET_EXITS, TARGET_PID};
use core::sync::atomic::Ordering;
use tessera_arch::smp::spin;
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Page};

/// VM-exit basic reasons the sender expects.
const EXIT_EXTERNAL_INTERRUPT: u64 = tessera_vmx::exit::ExitReason::ExternalInterrupt as u64;
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;
const EXIT_APIC_WRITE: u64 = tessera_vmx::exit::ExitReason::ApicWrite as u64;
/// APIC-write exit qualification for the ICR (page offset 300H).
const ICR_OFFSET: u64 = 0x300;

/// APIC-write exits seen since the last VMCALL.
#[derive(Default)]
struct Exits {
    count: u32,
    qualification: u64,
    rip: u64,
}

/// Where the sender is in the case list.
struct Session {
    vapic: &'static Page,
    regs: GuestRegisters,
    passed: usize,
    current: Option<&'static Case>,
    exits: Exits,
    next: core::slice::Iter<'static, Case>,
}

/// Runs every case; returns how many passed.
pub fn run(vmcs: &mut ActiveVmcs, vapic: &'static Page) -> Result<usize, &'static str> {
    let mut session = Session {
        vapic,
        regs: GuestRegisters::default(),
        passed: 0,
        current: None,
        exits: Exits::default(),
        next: CASES.iter(),
    };
    loop {
        vmcs.enter(&mut session.regs).map_err(|e| {
            log::error!("sender VM entry failed: {e:?}");
            "sender VM entry failed"
        })?;
        let reason = vmcs.read(0x4402).unwrap_or(u64::MAX) & 0xFFFF;
        let rip = vmcs.read(0x681E).unwrap_or(0);
        match reason {
            EXIT_EXTERNAL_INTERRUPT => log_interrupt(vmcs),
            EXIT_APIC_WRITE => session.exits = session.exits.record(vmcs, rip),
            EXIT_VMCALL if session.next_case() => skip_instruction(vmcs, rip)?,
            EXIT_VMCALL => return Ok(session.passed),
            other => {
                log::error!("sender guest: unexpected exit reason {other} at RIP {rip:#x}");
                return Err("unexpected VM exit in the sender guest");
            }
        }
    }
}

impl Exits {
    fn record(&self, vmcs: &ActiveVmcs, rip: u64) -> Exits {
        let qualification = vmcs.read(0x6400).unwrap_or(u64::MAX);
        Exits {
            count: self.count + 1,
            qualification,
            rip,
        }
    }
}

impl Session {
    /// Judges the case just run (if any) and hands the guest the next one; false when all are done.
    fn next_case(&mut self) -> bool {
        if let Some(case) = self.current.take() {
            self.passed += usize::from(report(case, &self.exits, self.vapic));
        }
        self.exits = Exits::default();
        let Some(case) = self.next.next() else {
            return false;
        };
        prepare(case, &mut self.regs);
        self.current = Some(case);
        true
    }
}

fn log_interrupt(vmcs: &ActiveVmcs) {
    let vector = vmcs.read(0x4404).unwrap_or(0) & 0xFF;
    log::warn!("sender: external interrupt vector {vector:#x} (resumed)");
}

/// Moves the guest past the instruction that exited (its VMCALL).
pub fn skip_instruction(vmcs: &mut ActiveVmcs, rip: u64) -> Result<(), &'static str> {
    let length = vmcs.read(0x440C).unwrap_or(3);
    vmcs.write_raw(0x681E, rip + length)
        .map_err(|_| "cannot advance guest RIP")
}

/// Sets up the target's descriptor for `case` and gives the guest the ICR value for its WRMSR.
fn prepare(case: &Case, regs: &mut GuestRegisters) {
    match case.setup {
        Setup::Normal | Setup::TargetInterruptsMasked => {}
        Setup::SuppressNotification => TARGET_PID.set_suppressed(true),
        Setup::OutstandingNotification => TARGET_PID.set_outstanding(true),
    }
    regs.rcx = 0x830;
    regs.rax = case.icr & 0xFFFF_FFFF;
    regs.rdx = case.icr >> 32;
}

/// Checks one case, prints its line, restores the target's descriptor; true if it passed.
fn report(case: &Case, exits: &Exits, vapic: &'static Page) -> bool {
    let verdict = check(case, exits, vapic);
    TARGET_PID.take_pending();
    TARGET_PID.set_suppressed(false);
    match verdict {
        Ok(detail) => tessera_arch::println!("case {:<46} pass ({detail})", case.name),
        Err(why) => tessera_arch::println!("case {:<46} FAIL: {why}", case.name),
    }
    verdict.is_ok()
}

fn check(case: &Case, exits: &Exits, vapic: &'static Page) -> Result<&'static str, &'static str> {
    let target_exits_before = TARGET_EXITS.load(Ordering::SeqCst);
    let result = match case.expect {
        Expect::Delivered => check_delivered(case, exits),
        Expect::ProcessedWhileMasked => crate::masked::check(case, exits.count),
        Expect::ApicWriteExit => check_exit(case, exits, vapic),
        Expect::PostedNotNotified => check_posted(case, exits),
        Expect::PostedToSelf => check_posted_to_self(case, exits, vapic),
    };
    if TARGET_EXITS.load(Ordering::SeqCst) != target_exits_before {
        return Err("the target guest took a VM exit");
    }
    result
}

fn check_delivered(case: &Case, exits: &Exits) -> Result<&'static str, &'static str> {
    if exits.count != 0 {
        return Err("the sender took an APIC-write exit");
    }
    for _ in 0..DELIVERY_TIMEOUT_SPINS / 1000 {
        if deliveries(case) >= 1 {
            break;
        }
        spin(1000);
    }
    spin(QUIET_SPINS);
    match deliveries(case) {
        0 => Err("the target guest never saw the vector"),
        1 if TARGET_PID.pending(case.vector()) => Err("delivered but PIR bit still set"),
        1 => Ok("no exit, target handler ran once"),
        _ => Err("the target guest saw the vector more than once"),
    }
}

fn check_exit(
    case: &Case,
    exits: &Exits,
    vapic: &'static Page,
) -> Result<&'static str, &'static str> {
    spin(QUIET_SPINS);
    if exits.count != 1 {
        return Err(if exits.count == 0 {
            "no APIC-write exit"
        } else {
            "more than one APIC-write exit"
        });
    }
    if exits.qualification & 0xFFF != ICR_OFFSET {
        log::error!("qualification {:#x}", exits.qualification);
        return Err("exit qualification is not 300H");
    }
    if exits.rip != guest::sender_after_wrmsr() {
        log::error!(
            "exit RIP {:#x}, expected {:#x}",
            exits.rip,
            guest::sender_after_wrmsr()
        );
        return Err("not trap-like: RIP is not after the WRMSR");
    }
    // x2APIC mode keeps the whole 64-bit ICR at offset 300H (SDM 30.5; KVM does the same).
    let vicr = vapic.read_u32(0x300) as u64 | (vapic.read_u32(0x304) as u64) << 32;
    if vicr != case.icr {
        log::error!("virtual ICR {vicr:#x}, written {:#x}", case.icr);
        return Err("the virtual ICR does not hold the written value");
    }
    if case.vector() >= 16 && TARGET_PID.pending(case.vector()) || deliveries(case) != 0 {
        return Err("the IPI was posted or delivered anyway");
    }
    Ok("exit 56, qualification 300H, RIP after WRMSR, VICR written")
}

fn check_posted(case: &Case, exits: &Exits) -> Result<&'static str, &'static str> {
    if exits.count != 0 {
        return Err("the sender took an APIC-write exit");
    }
    if !TARGET_PID.pending(case.vector()) {
        return Err("PIR bit not set");
    }
    let on_expected = case.setup == Setup::OutstandingNotification;
    if TARGET_PID.outstanding() != on_expected {
        return Err("ON changed although no notification may be sent");
    }
    spin(QUIET_SPINS);
    if deliveries(case) != 0 {
        return Err("the target guest saw the vector: a notification was sent");
    }
    Ok("no exit, PIR bit set, no notification")
}

fn check_posted_to_self(
    case: &Case,
    exits: &Exits,
    vapic: &'static Page,
) -> Result<&'static str, &'static str> {
    if exits.count != 0 {
        return Err("the sender took an APIC-write exit");
    }
    let posted = SENDER_PID.pending(case.vector()) && SENDER_PID.outstanding();
    let taken = virtual_irr(vapic, case.vector()) && !SENDER_PID.pending(case.vector());
    if TARGET_PID.pending(case.vector()) || deliveries(case) != 0 {
        return Err("posted to the target instead of the sender");
    }
    match (posted, taken) {
        (true, _) => Ok("no exit, PIR bit and ON set in the sender's own descriptor"),
        (_, true) => {
            Ok("no exit, notification processed: vector pending in the sender's virtual IRR")
        }
        _ => Err("neither in the sender's PIR (with ON) nor in its virtual IRR"),
    }
}
