//! The vCPU a CPU runs: its active VMCS, guest registers, identity, timer and console line, with
//! VMREAD/VMWRITE on its VMCS and the few changes every exit path shares.

use super::launch;
use super::shared::{self, RunRecord, VCPUS};
use super::timer::VcpuTimer;
use crate::plan::PLAN;
use core::cell::Cell;
use tessera_arch::guest_ram::GuestRam;
use tessera_arch::sync::SpinGuard;
use tessera_arch::vmx::{
    ActiveVmcs, GuestRegisters, RuntimeControl, SafeField, VirtualApicPage, VmcsError,
};
use tessera_vmx::exit::{rip_after, GuestEventState, StopReason};
use tessera_vmx::fields::{
    Field32Guest as G32, Field32ReadOnly as R32, Field64Guest as G64, NaturalGuest as GN,
};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// A running vCPU: its current VMCS, registers and identity.
pub struct Vcpu<'a> {
    pub vmcs: ActiveVmcs<'a>,
    pub regs: GuestRegisters,
    /// Position in plan order.
    pub index: usize,
    pub partition: u16,
    pub vcpu: u16,
    pub virtual_apic: VirtualApicPage,
    /// The vCPU's own posted-interrupt descriptor (its timer posts into it).
    pub pid: &'static PostedInterruptDescriptor,
    /// Every vCPU's descriptor in plan order (`shared::descriptors`), where IPIs are posted.
    pub descriptors: [Option<&'static PostedInterruptDescriptor>; VCPUS],
    pub guest_memory: GuestRam,
    pub timer: VcpuTimer,
    /// Its exit counters and console line, in its shared state and held until it stops: only
    /// this vCPU's CPU counts and reads them while it runs (no lock on the exit path), and the
    /// summary reads them after.
    pub record: SpinGuard<'static, RunRecord>,
    /// The first VMREAD/VMWRITE that failed since the run loop last looked (`take_vmcs_failure`).
    vmcs_failure: Cell<Option<StopReason>>,
}

/// What a vCPU is built from once its VMCS is filled and its start seen (`crate::run::prepare`):
/// only what the run loop keeps, so the set-up frames hand over little and the `Vcpu` itself is
/// first built in the run loop's frame.
pub struct VcpuStart<'a> {
    pub vmcs: ActiveVmcs<'a>,
    /// `(index, partition, vcpu)`: plan-order position and place in its partition.
    pub at: (usize, u16, u16),
    pub virtual_apic: VirtualApicPage,
    pub pid: &'static PostedInterruptDescriptor,
    pub guest_memory: GuestRam,
    /// `SelectedControls::preemption_timer_rate`.
    pub preemption_timer_rate: u8,
    /// RDI and RSI for the first entry (`EntryRegisters`).
    pub rdi: u64,
    pub rsi: u64,
}

impl<'a> Vcpu<'a> {
    /// A vCPU about to enter for the first time.
    pub fn new(start: VcpuStart<'a>) -> Self {
        let (index, partition, vcpu) = start.at;
        let frequency = launch::timer_frequency().expect("set before any vCPU starts");
        Vcpu {
            vmcs: start.vmcs,
            regs: GuestRegisters {
                rdi: start.rdi,
                rsi: start.rsi,
                ..GuestRegisters::default()
            },
            index,
            partition,
            vcpu,
            virtual_apic: start.virtual_apic,
            pid: start.pid,
            descriptors: shared::descriptors(),
            guest_memory: start.guest_memory,
            timer: VcpuTimer::new(
                &frequency,
                start.preemption_timer_rate,
                launch::timer_virtualized(partition),
            ),
            record: shared::of(index)
                .take_record()
                .expect("a vCPU runs once: its run record is free"),
            vmcs_failure: Cell::new(None),
        }
    }

    /// VMREAD. A failure (only possible with a broken VMCS) is logged and kept: the run loop
    /// stops the vCPU naming the field before its next entry; meanwhile the value reads as 0.
    /// Inlined, so an exit handler's read is the instruction and a flag test, with the failure
    /// out of line.
    #[inline]
    pub fn read(&self, field: u32) -> u64 {
        match self.vmcs.read(field) {
            Ok(value) => value,
            Err(e) => self.read_failed(field, e),
        }
    }

    /// VMWRITE of an insensitive field, typed by its width; a failure is logged and kept as for
    /// `read`.
    #[inline]
    pub fn write<F: SafeField>(&mut self, field: F, value: F::Value) {
        if let Err(e) = self.vmcs.write(field, value) {
            self.write_failed(field.encoding(), e);
        }
    }

    /// VMWRITE of the guest-state field `encoding` (chosen by data, e.g. an emulated MSR); any
    /// other field fails as a VMWRITE would.
    #[inline]
    pub fn write_guest_state(&mut self, encoding: u32, value: u64) {
        if let Err(e) = self.vmcs.write_guest_state(encoding, value) {
            self.write_failed(encoding, e);
        }
    }

    /// Points the VMCS at the installed MSR bitmap passing IA32_TSC_DEADLINE (`true`, the timer
    /// on APIC-timer virtualization) or trapping it; a failure is logged and kept as for `read`.
    #[inline]
    pub fn pass_tsc_deadline(&mut self, passed: bool) {
        if let Err(e) = self.vmcs.pass_tsc_deadline(passed) {
            self.write_failed(tessera_vmx::fields::Field64Control::MsrBitmap.encoding(), e);
        }
    }

    /// Sets or clears one of the control bits a running vCPU changes.
    #[inline]
    pub fn set_control(&mut self, control: RuntimeControl, on: bool) {
        if let Err(e) = self.vmcs.set_control(control, on) {
            self.write_failed(control.field(), e);
        }
    }

    #[cold]
    #[inline(never)]
    fn read_failed(&self, field: u32, e: VmcsError) -> u64 {
        log::error!("VMREAD {field:#x}: {e}");
        self.fail(field, false);
        0
    }

    #[cold]
    #[inline(never)]
    fn write_failed(&self, field: u32, e: VmcsError) {
        log::error!("VMWRITE {field:#x}: {e}");
        self.fail(field, true);
    }

    fn fail(&self, field: u32, write: bool) {
        if self.vmcs_failure.get().is_none() {
            self.vmcs_failure
                .set(Some(StopReason::VmcsAccess { field, write }));
        }
    }

    /// The first VMCS access that failed since the last call, as the reason to stop the vCPU.
    pub fn take_vmcs_failure(&self) -> Option<StopReason> {
        self.vmcs_failure.take()
    }

    /// Moves RIP past the instruction that exited, completing it as the processor would: the
    /// STI/MOV-SS shadow it ran in ends, and with RFLAGS.TF set its single-step trap is pending
    /// (`GuestEventState::after_skip`), so the guest takes its #DB right after it.
    /// The pending debug exceptions and IA32_DEBUGCTL are read only when the interruptibility
    /// state or RFLAGS says the skip may change something (`GuestEventState::skip_may_change`).
    pub fn skip_instruction(&mut self) {
        let rip = self.read(GN::Rip.encoding());
        let len = self.read(R32::ExitInstructionLength.encoding());
        self.write(GN::Rip, rip_after(rip, len));
        let interruptibility = self.read(G32::InterruptibilityState.encoding()) as u32;
        let rflags = self.read(GN::Rflags.encoding());
        if !GuestEventState::skip_may_change(interruptibility, rflags) {
            return;
        }
        let before = GuestEventState {
            interruptibility,
            pending_debug: self.read(GN::PendingDebugExceptions.encoding()),
            rflags,
            debugctl: self.read(G64::Ia32Debugctl.encoding()),
        };
        if before.changed_by_skip() {
            let after = before.after_skip();
            self.write(G32::InterruptibilityState, after.interruptibility);
            self.write(GN::PendingDebugExceptions, after.pending_debug);
        }
    }

    pub fn name(&self) -> &'static str {
        PLAN.partitions[self.partition as usize].name
    }

    /// Sets or clears "NMI-window exiting" in the primary processor-based controls.
    pub fn set_nmi_window_exiting(&mut self, on: bool) {
        self.set_control(RuntimeControl::NmiWindowExiting, on);
    }
}
