//! APIC-timer virtualization (timer-virt.patch), with the control offered: each case runs one
//! guest of `timer_guests` on a fresh VMCS of CPU 0 with tertiary control bit 8 set, virtual timer
//! vector 0x4F (counted by the shared handlers) and an MSR bitmap that intercepts nothing, so
//! every RDMSR/WRMSR of IA32_TSC_DEADLINE must be virtualized without a VM exit. The
//! VMX-preemption timer bounds every wait (exit 52 means the guest timer never fired). The
//! three VM-entry checks of the control follow (`timer_entry`), each refused and accepted once
//! corrected.

use crate::cases::FIRST_COUNTED_VECTOR;
use crate::controls::{self, Words};
use crate::guest::{self, DELIVERIES};
use crate::ipiv_off::line;
use crate::shared::{self, PID_TABLE, SENDER_PID, TARGET_IDT};
use crate::timer_guests::Program;
use crate::vcpu::{self, GuestStart, VcpuMemory};
use core::sync::atomic::Ordering;
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Page, Vmcs, VmcsError, VmxRoot};
use tessera_vmx::controls::{PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased};
use tessera_vmx::fields::{
    Field16Control as C16, Field16Guest as G16, Field32Guest as G32, Field32ReadOnly as R32,
    Field64Control as C64, Field64Guest as G64, NaturalGuest as GN,
};
use tessera_vmx::select::AllowedSet;

/// How many cases `run` checks (`timer_entry` runs the entry checks after them).
pub const CASES: usize = 8;
/// The virtual timer vector (the last counted vector; no IPIv case uses it).
pub const VECTOR: u8 = FIRST_COUNTED_VECTOR + 15;
const BOUND_CYCLES: u64 = 20_000_000;
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;
const EXIT_PREEMPTION_TIMER: u64 = tessera_vmx::exit::ExitReason::PreemptionTimer as u64;
/// The TSC offset of the conversion case: the guest's TSC runs 2^32 cycles ahead of the host's.
const TSC_OFFSET: u64 = 1 << 32;

type Verdict = Result<&'static str, &'static str>;

/// Runs every case; returns how many passed.
pub fn run(root: &VmxRoot, allowed: &AllowedSet, ipiv: bool) -> usize {
    TARGET_IDT.install_counters();
    let Ok(words) = timer_words(allowed) else {
        line(
            "APIC-timer virtualization cases",
            Err("a needed control is not allowed"),
        );
        return 0;
    };
    let t = Timed { root, words, ipiv };
    let cases: [(&str, Verdict); 8] = [
        ("timer: arm, expiry wakes HLT, no exit", t.arm_halt()),
        ("timer: re-arm replaces the deadline", t.rearm()),
        ("timer: WRMSR 0 disarms", t.disarm()),
        (
            "timer: masked by RFLAGS.IF, delivered after STI",
            t.masked(Program::MaskedIf),
        ),
        (
            "timer: masked by TPR, delivered when it drops",
            t.masked(Program::MaskedTpr),
        ),
        ("timer: a deadline in the past fires at once", t.past()),
        (
            "timer: VM exit saves it, fires after entry",
            t.across_exit(0),
        ),
        (
            "timer: deadline converted with the TSC offset",
            t.across_exit(TSC_OFFSET),
        ),
    ];
    cases.into_iter().filter(|&(name, v)| line(name, v)).count()
}

/// The self-test's words with the tertiary controls active, APIC-timer virtualization set and
/// the VMX-preemption timer bounding the wait.
pub fn timer_words(allowed: &AllowedSet) -> Result<Words, controls::Missing> {
    let mut words = controls::with_preemption_timer(&controls::select(allowed, false)?, allowed)?;
    words.primary |= PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits() as u64;
    words.tertiary |= TertiaryProcBased::APIC_TIMER_VIRTUALIZATION.bits();
    Ok(words)
}

/// One guest on a fresh VMCS, stepped from VMCALL to VMCALL.
struct Run<'a> {
    vmcs: ActiveVmcs<'a>,
    regs: GuestRegisters,
    vapic: &'static Page,
}

impl Run<'_> {
    /// Enters until the next exit; a VMCALL is stepped over for the next entry.
    fn step(&mut self) -> Result<(), &'static str> {
        self.vmcs.enter(&mut self.regs).map_err(|e| {
            log::error!("timer guest VM entry failed: {e:?}");
            "VM entry failed"
        })?;
        match self
            .vmcs
            .read(R32::ExitReason.encoding())
            .unwrap_or(u64::MAX)
            & 0xFFFF
        {
            EXIT_VMCALL => {
                let rip = self.vmcs.read(GN::Rip.encoding()).unwrap_or(0);
                crate::sender::skip_instruction(&mut self.vmcs, rip)
            }
            EXIT_PREEMPTION_TIMER => Err("the guest timer never fired (VMX-preemption timer exit)"),
            other => {
                log::error!("timer guest: exit reason {other}");
                Err("unexpected VM exit (an intercepted timer access?)")
            }
        }
    }

    fn field(&self, encoding: u32) -> u64 {
        self.vmcs.read(encoding).unwrap_or(u64::MAX)
    }

    /// Both deadline fields, as saved by the last VM exit.
    fn deadlines(&self) -> (u64, u64) {
        (
            self.field(G64::GuestDeadline.encoding()),
            self.field(C64::GuestDeadlineShadow.encoding()),
        )
    }
}

/// What every case shares.
struct Timed<'r> {
    root: &'r VmxRoot,
    words: Words,
    ipiv: bool,
}

impl Timed<'_> {
    /// Configures a fresh VMCS for `program` with `rbx`/`rsi` and runs `body` on it.
    fn with(
        &self,
        program: Program,
        inputs: (u64, u64),
        tsc_offset: u64,
        body: impl FnOnce(&mut Run) -> Verdict,
    ) -> Verdict {
        let mut region = Vmcs::new(shared::region(), self.root.revision_id());
        let vmcs = self
            .root
            .activate(&mut region)
            .map_err(|_| "VMPTRLD failed")?;
        let mut run = Run {
            vmcs,
            regs: GuestRegisters {
                rbx: inputs.0,
                rsi: inputs.1,
                ..GuestRegisters::default()
            },
            vapic: shared::page(),
        };
        self.configure(&mut run, program, tsc_offset)
            .map_err(|_| "VMCS setup failed")?;
        body(&mut run)
    }

    fn configure(&self, run: &mut Run, program: Program, tsc_offset: u64) -> Result<(), VmcsError> {
        let mut words = self.words;
        if tsc_offset != 0 {
            words.primary |= PrimaryProcBased::USE_TSC_OFFSETTING.bits() as u64;
        }
        let memory = VcpuMemory {
            virtual_apic: run.vapic,
            msr_bitmap: msr_bitmap(),
            pid: &SENDER_PID,
            pid_table: self.ipiv.then_some(&PID_TABLE),
        };
        let start = GuestStart {
            rip: program.entry(),
            rsp: stack_top(),
            rflags: 0x2,
            idt_base: TARGET_IDT.base(),
        };
        vcpu::configure(&mut run.vmcs, &words, &memory, &start)?;
        let v = &mut run.vmcs;
        v.write_raw(C16::VirtualTimerVector.encoding(), u64::from(VECTOR))?;
        v.write_raw(G64::GuestDeadline.encoding(), 0)?;
        v.write_raw(C64::GuestDeadlineShadow.encoding(), 0)?;
        v.write_raw(C64::TscOffset.encoding(), tsc_offset)?;
        v.write_raw(G32::VmxPreemptionTimerValue.encoding(), BOUND_CYCLES)
    }

    fn arm_halt(&self) -> Verdict {
        self.with(Program::ArmHalt, (20_000, 0), 0, |run| {
            let before = deliveries();
            run.step()?;
            let r = &run.regs;
            if deliveries() != before + 1 {
                return Err("the handler did not run once");
            }
            if r.r13 != r.r12 || r.r14 < r.r12 {
                log::error!(
                    "deadline {:#x}, read back {:#x}, woke at {:#x}",
                    r.r12,
                    r.r13,
                    r.r14
                );
                return Err("RDMSR did not return the deadline, or the wake-up was early");
            }
            if r.r15 != 0 || run.deadlines() != (0, 0) {
                return Err("the MSR or a deadline field is not 0 after the expiry");
            }
            Ok("no exit; handler ran once after the deadline; MSR read it, then 0")
        })
    }

    fn rearm(&self) -> Verdict {
        self.with(Program::RearmHalt, (2_000_000, 20_000), 0, |run| {
            let before = deliveries();
            run.step()?;
            let r = &run.regs;
            let woke_at_second = r.r14 >= r.r12 && r.r14 < r.r12 + 1_000_000;
            match (deliveries() - before, woke_at_second) {
                (1, true) => Ok("one interrupt, at the second deadline"),
                (1, false) => Err("one interrupt, but not at the second deadline"),
                _ => Err("not exactly one interrupt"),
            }
        })
    }

    fn disarm(&self) -> Verdict {
        self.with(Program::DisarmSpin, (10_000, 60_000), 0, |run| {
            let before = deliveries();
            run.step()?;
            match (deliveries() - before, run.regs.r15, run.deadlines()) {
                (0, 0, (0, 0)) => Ok("no interrupt; MSR and both fields 0"),
                (0, _, _) => Err("no interrupt, but the MSR or a field is not 0"),
                _ => Err("the disarmed deadline fired"),
            }
        })
    }

    fn masked(&self, program: Program) -> Verdict {
        self.with(program, (5_000, 40_000), 0, |run| {
            let before = deliveries();
            run.step()?;
            let rvi = run.field(G16::InterruptStatus.encoding()) & 0xFF;
            let in_virr =
                run.vapic.read_u32(0x200 + 0x10 * (VECTOR as usize / 32)) & 1 << (VECTOR % 32) != 0;
            if deliveries() != before || run.regs.r15 != 0 {
                return Err("delivered while masked, or the MSR is not 0 after the expiry");
            }
            if rvi != u64::from(VECTOR) || !in_virr {
                return Err("the expiry did not leave the vector in VIRR and RVI");
            }
            run.step()?;
            match deliveries() - before {
                1 => Ok("held in VIRR/RVI while masked, delivered once unmasked"),
                _ => Err("not delivered once after unmasking"),
            }
        })
    }

    fn past(&self) -> Verdict {
        self.with(Program::Past, (1, 0), 0, |run| {
            let before = deliveries();
            run.step()?;
            match (deliveries() - before, run.regs.r15) {
                (1, 0) => Ok("delivered right after the WRMSR; MSR 0"),
                (1, _) => Err("delivered, but the MSR is not 0"),
                _ => Err("not delivered once"),
            }
        })
    }

    /// Arms, exits (the deadline is saved in host TSC = guest TSC - offset), lets it pass in VMX
    /// root, re-enters: the expiry is delivered right after the entry.
    fn across_exit(&self, tsc_offset: u64) -> Verdict {
        self.with(Program::AcrossExit, (30_000, 0), tsc_offset, |run| {
            let before = deliveries();
            run.step()?;
            let deadline = run.regs.r12;
            let host_deadline = deadline.wrapping_sub(tsc_offset);
            if run.deadlines() != (host_deadline, deadline) {
                log::error!(
                    "saved {:x?}, expected ({host_deadline:#x}, {deadline:#x})",
                    run.deadlines()
                );
                return Err("VM exit did not save the deadline in host TSC and the shadow");
            }
            while tessera_arch::tsc_cycles() < host_deadline + 10_000 {
                core::hint::spin_loop();
            }
            if deliveries() != before {
                return Err("the deadline fired in VMX root");
            }
            run.step()?;
            match (deliveries() - before, run.regs.r15, run.deadlines()) {
                (1, 0, (0, 0)) => Ok("saved at exit, quiet in VMX root, delivered after entry"),
                _ => Err("not delivered once after the entry, or a field not 0"),
            }
        })
    }
}

fn deliveries() -> u64 {
    DELIVERIES[(VECTOR - FIRST_COUNTED_VECTOR) as usize].load(Ordering::SeqCst)
}

/// One MSR bitmap (all zero: nothing intercepted) and one stack for every timer guest.
fn msr_bitmap() -> &'static Page {
    static BITMAP: Page = Page::zeroed();
    &BITMAP
}

fn stack_top() -> u64 {
    static STACK: Page = Page::zeroed();
    STACK.phys_addr() + 4096
}

/// The pin-based, secondary and primary controls a timer entry check changes.
pub fn without_virtual_interrupt_delivery(words: &Words) -> Words {
    Words {
        pin: words.pin & !(PinBased::PROCESS_POSTED_INTERRUPTS.bits() as u64),
        secondary: words.secondary
            & !(SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY.bits() as u64),
        ..*words
    }
}

/// The entry checks' guest: the sender's first instruction is a VMCALL.
pub fn vmcall_guest() -> u64 {
    guest::sender_entry()
}
