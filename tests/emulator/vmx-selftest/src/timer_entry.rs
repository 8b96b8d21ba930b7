//! The VM-entry checks of APIC-timer virtualization (the SDM's complete list): with the control
//! set, VMLAUNCH fails with VM-instruction error 7 without "virtual-interrupt delivery", with
//! "RDTSC exiting", and with bits 15:8 of the virtual timer vector set. Each refusal is followed
//! by the same VMCS with only the offending setting corrected, which must reach the guest's VMCALL.

use crate::controls::Words;
use crate::entry_checks::{expect_refused, expect_vmcall};
use crate::ipiv_off::line;
use crate::shared::{self, PID_TABLE, SENDER_PID};
use crate::timer_virt::{timer_words, vmcall_guest, without_virtual_interrupt_delivery, VECTOR};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Vmcs, VmcsError, VmxRoot};
use tessera_vmx::controls::{PrimaryProcBased, SecondaryProcBased};
use tessera_vmx::fields::{Field16Control as C16, Field32Control as C32};
use tessera_vmx::select::AllowedSet;

/// How many cases `run` checks.
pub const CASES: usize = 3;

type Change = fn(&mut ActiveVmcs) -> Result<(), VmcsError>;

/// Runs the three checks with the controls of `timer_virt`; returns how many passed (none when a
/// needed control is not allowed, which `timer_virt::run` reported).
pub fn run(root: &VmxRoot, allowed: &AllowedSet, ipiv: bool) -> usize {
    let Ok(words) = timer_words(allowed) else {
        return 0;
    };
    let words = &words;
    let no_vid = without_virtual_interrupt_delivery(words);
    let cases: [(&str, &Words, Change, Change); 3] = [
        (
            "timer without virtual-interrupt delivery refused",
            &no_vid,
            |_| Ok(()),
            set_vid,
        ),
        (
            "timer with RDTSC exiting refused",
            words,
            set_rdtsc_exiting,
            clear_rdtsc_exiting,
        ),
        (
            "timer vector bits 15:8 set refused",
            words,
            wide_vector,
            narrow_vector,
        ),
    ];
    let mut passed = 0;
    for (name, words, bad, fix) in cases {
        passed += usize::from(line(name, check(root, words, ipiv, bad, fix)));
    }
    passed
}

fn set_vid(v: &mut ActiveVmcs) -> Result<(), VmcsError> {
    let field = C32::SecondaryProcBasedControls.encoding();
    let word = v.read(field)?;
    v.write_raw(
        field,
        word | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY.bits() as u64,
    )
}

fn set_rdtsc_exiting(v: &mut ActiveVmcs) -> Result<(), VmcsError> {
    let field = C32::ProcBasedControls.encoding();
    let word = v.read(field)?;
    v.write_raw(field, word | PrimaryProcBased::RDTSC_EXITING.bits() as u64)
}

fn clear_rdtsc_exiting(v: &mut ActiveVmcs) -> Result<(), VmcsError> {
    let field = C32::ProcBasedControls.encoding();
    let word = v.read(field)?;
    v.write_raw(
        field,
        word & !(PrimaryProcBased::RDTSC_EXITING.bits() as u64),
    )
}

fn wide_vector(v: &mut ActiveVmcs) -> Result<(), VmcsError> {
    v.write_raw(
        C16::VirtualTimerVector.encoding(),
        0x100 | u64::from(VECTOR),
    )
}

fn narrow_vector(v: &mut ActiveVmcs) -> Result<(), VmcsError> {
    v.write_raw(C16::VirtualTimerVector.encoding(), u64::from(VECTOR))
}

/// A fresh VMCS with `words` (APIC-timer virtualization set): `bad` must be refused with error 7,
/// then `fix` must enter.
fn check(
    root: &VmxRoot,
    words: &Words,
    ipiv: bool,
    bad: Change,
    fix: Change,
) -> Result<&'static str, &'static str> {
    let mut region = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root.activate(&mut region).map_err(|_| "VMPTRLD failed")?;
    let memory = VcpuMemory {
        virtual_apic: shared::page(),
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: ipiv.then_some(&PID_TABLE),
    };
    let start = GuestStart {
        rip: vmcall_guest(),
        rsp: shared::page().phys_addr() + 4096,
        rflags: 0x2,
        idt_base: 0,
    };
    vcpu::configure(&mut active, words, &memory, &start).map_err(|_| "VMCS setup failed")?;
    narrow_vector(&mut active).map_err(|_| "cannot write the virtual timer vector")?;
    active
        .write_raw(0x482E, 20_000_000)
        .map_err(|_| "cannot write the preemption timer")?;
    bad(&mut active).map_err(|_| "cannot write the refused setting")?;
    let mut regs = GuestRegisters::default();
    expect_refused(&mut active, &mut regs)?;
    fix(&mut active).map_err(|_| "cannot write the corrected setting")?;
    expect_vmcall(&mut active, &mut regs)
}
