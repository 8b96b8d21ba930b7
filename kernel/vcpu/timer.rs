//! The vCPU's local APIC timer on its own CPU, on one of two paths:
//! - **trapped**: register accesses that exit go to tessera-vmx's software model; before each VM
//!   entry a due expiry is posted into the vCPU's own descriptor like an IPI (a halted guest wakes
//!   as for an IPI), and the next deadline is timed with the VMX-preemption timer, whose expiry is
//!   the only exit an armed timer costs besides the arm;
//! - **virtualized** (APIC-timer virtualization, when the CPU offers it and the partition's
//!   `timer` setting takes it): while the guest's LVT selects TSC-deadline mode, unmasked, the
//!   processor's guest timer holds the deadline: the VMCS points at the shared MSR bitmap that
//!   passes IA32_TSC_DEADLINE reads and writes, and the expiry sets the vector in the virtual
//!   IRR, with no exit at all. The LVT
//!   timer and SVR writes, which exit anyway, move the deadline between the two paths.

use crate::vcpu::Vcpu;
use tessera_arch::vmx::fields::{GuestDeadlineShadow, VirtualTimerVector};
use tessera_arch::vmx::RuntimeControl;
use tessera_vmx::apic_timer::{
    armed_deadline, hardware_fields, preemption_timer_value, virtualized_vector, ApicTimer,
    TimerFrequency, SVR_APIC_ENABLED,
};
use tessera_vmx::fields::{Field32Guest as G32, Field64Control as C64, Field64Guest as G64};
use tessera_vmx::msr_policy::TimerAccess;
use tessera_vmx::tables::PostOutcome;

use tessera_vmx::tables::apic_offset::{
    LVT_TIMER, SVR, TIMER_DIVIDE_CONFIGURATION as DIVIDE_CONFIGURATION,
    TIMER_INITIAL_COUNT as INITIAL_COUNT,
};

/// One vCPU's timer state; it lives and dies with the vCPU's run loop.
pub struct VcpuTimer {
    model: ApicTimer,
    /// IA32_VMX_MISC bits 4:0: the preemption timer counts once every 2^rate TSC cycles.
    rate_shift: u8,
    /// Whether "activate VMX-preemption timer" is set in this vCPU's VMCS.
    preemption_on: bool,
    /// Expiries the hypervisor handled (trapped path), and how many delivered an interrupt.
    pub expiries: u64,
    pub delivered: u64,
    /// The CPU offers APIC-timer virtualization and the partition's `timer` setting takes it
    /// ("activate tertiary controls" is set in this vCPU's VMCS).
    may_virtualize: bool,
    /// While the processor's guest timer serves the vCPU (tertiary bit 8 set): its vector.
    virtualized: Option<u8>,
}

impl VcpuTimer {
    /// A timer after reset; `may_virtualize`: TSC-deadline mode may run on APIC-timer
    /// virtualization (the VMCS must have "activate tertiary controls").
    pub fn new(frequency: &TimerFrequency, rate_shift: u8, may_virtualize: bool) -> Self {
        VcpuTimer {
            model: ApicTimer::new(frequency.tsc_per_count),
            rate_shift,
            preemption_on: false,
            expiries: 0,
            delivered: 0,
            may_virtualize,
            virtualized: None,
        }
    }

    /// Disarms the timer for good (the vCPU stopped): nothing is delivered after this.
    pub fn disarm(&mut self) {
        self.model.disarm();
    }

    pub fn armed(&self) -> bool {
        self.model.next_expiry().is_some()
    }
}

/// The vCPU stopped: its timer is disarmed for good (the processor's guest timer, the model and
/// the preemption timer), and what it did is logged if it was used.
pub fn stop(vcpu: &mut Vcpu) {
    leave_processor(vcpu);
    let t = &vcpu.timer;
    if t.expiries > 0 || t.armed() {
        log::info!(
            "timer: partition {} vcpu {}: {} expiries, {} delivered, disarmed{}",
            vcpu.name(),
            vcpu.vcpu,
            t.expiries,
            t.delivered,
            if t.armed() { " while armed" } else { "" }
        );
    }
    vcpu.timer.disarm();
    set_preemption_timer(vcpu, false);
}

/// Applies a timer register access that exited; returns the value a read gives. An LVT timer or
/// SVR write may move the timer between the trapped and the virtualized path.
pub fn access(vcpu: &mut Vcpu, access: TimerAccess) -> Option<u64> {
    let switches = matches!(access, TimerAccess::WriteLvt(_) | TimerAccess::WriteSvr(_));
    if switches {
        leave_processor(vcpu);
    }
    let value = apply(vcpu, access);
    if switches {
        take_processor(vcpu);
    }
    value
}

/// Applies an access to the software model (and the registers the guest reads back).
fn apply(vcpu: &mut Vcpu, access: TimerAccess) -> Option<u64> {
    let now = tessera_arch::tsc_cycles();
    let page = &vcpu.virtual_apic;
    let model = &mut vcpu.timer.model;
    match access {
        TimerAccess::ReadDeadline => return Some(model.tsc_deadline()),
        TimerAccess::ReadCurrentCount => return Some(u64::from(model.current_count(now))),
        TimerAccess::WriteDeadline(value) => model.write_tsc_deadline(value),
        TimerAccess::WriteLvt(value) => {
            let enabled = page.read_u32(SVR) & SVR_APIC_ENABLED != 0;
            model.write_lvt(value, enabled);
            page.write_u32(LVT_TIMER, model.lvt().0);
        }
        TimerAccess::WriteInitialCount(value) => {
            model.write_initial_count(value, now);
            page.write_u32(INITIAL_COUNT, model.initial_count());
        }
        TimerAccess::WriteDivideConfiguration(value) => {
            model.write_divide_configuration(value, now);
            page.write_u32(DIVIDE_CONFIGURATION, model.divide_configuration());
        }
        TimerAccess::WriteSvr(value) => {
            page.write_u32(SVR, value);
            if value & SVR_APIC_ENABLED == 0 {
                model.software_disable();
                page.write_u32(LVT_TIMER, model.lvt().0);
            }
        }
    }
    None
}

/// Hands the vCPU's TSC-deadline timer to the processor when the CPU and the partition allow it
/// and the LVT asks for TSC-deadline mode, unmasked: the armed deadline (or none) goes into the
/// guest deadline fields, tertiary bit 8 is set and the VMCS points at the MSR bitmap passing
/// IA32_TSC_DEADLINE.
fn take_processor(vcpu: &mut Vcpu) {
    if !vcpu.timer.may_virtualize {
        return;
    }
    let Some(vector) = virtualized_vector(vcpu.timer.model.lvt()) else {
        return;
    };
    let deadline = vcpu.timer.model.hand_over_deadline();
    let (vector_field, shadow, guest_deadline) = hardware_fields(vector, deadline);
    vcpu.write(VirtualTimerVector, vector_field);
    vcpu.write(GuestDeadlineShadow, shadow);
    vcpu.write(G64::GuestDeadline, guest_deadline);
    vcpu.set_control(RuntimeControl::ApicTimerVirtualization, true);
    vcpu.pass_tsc_deadline(true);
    vcpu.timer.virtualized = Some(vector);
}

/// Takes the vCPU's TSC-deadline timer back from the processor (the deadline the last exit saved,
/// or none if it fired) into the software model: both fields zeroed, tertiary bit 8 cleared, the
/// VMCS back on the MSR bitmap trapping IA32_TSC_DEADLINE. Nothing happens on the trapped path.
fn leave_processor(vcpu: &mut Vcpu) {
    if vcpu.timer.virtualized.take().is_none() {
        return;
    }
    let guest_deadline = vcpu.read(G64::GuestDeadline.encoding());
    let shadow = vcpu.read(C64::GuestDeadlineShadow.encoding());
    vcpu.write(G64::GuestDeadline, 0);
    vcpu.write(GuestDeadlineShadow, 0);
    vcpu.set_control(RuntimeControl::ApicTimerVirtualization, false);
    vcpu.pass_tsc_deadline(false);
    vcpu.timer
        .model
        .write_tsc_deadline(armed_deadline(guest_deadline, shadow));
}

/// Before a VM entry: posts a due expiry, then times the next deadline with the preemption timer
/// (or turns it off when nothing is armed). With nothing armed and the preemption timer already
/// off there is nothing to post, time or turn off, so the TSC is not even read (every exit of a
/// vCPU whose timer is idle, or virtualized, passes here).
pub fn before_entry(vcpu: &mut Vcpu) {
    if !vcpu.timer.armed() && !vcpu.timer.preemption_on {
        return;
    }
    let now = tessera_arch::tsc_cycles();
    if let Some(expiry) = vcpu.timer.model.expire(now) {
        vcpu.timer.expiries += 1;
        if let Some(vector) = expiry.vector {
            vcpu.timer.delivered += 1;
            post_own(vcpu, vector);
        }
    }
    let next = vcpu.timer.model.next_expiry();
    if let Some(deadline) = next {
        let value = preemption_timer_value(deadline, now, vcpu.timer.rate_shift);
        vcpu.write(G32::VmxPreemptionTimerValue, value);
    }
    set_preemption_timer(vcpu, next.is_some());
}

/// Posts `vector` into the vCPU's own descriptor and, if the processor would, sends the
/// notification to its own CPU: it stays pending (host interrupts are off in VMX root) and is
/// processed as a posted interrupt right after the VM entry.
fn post_own(vcpu: &Vcpu, vector: u8) {
    if vcpu.pid.post(vector) == PostOutcome::Notify {
        let icr = tessera_arch::apic::icr_fixed(
            vcpu.pid.notification_destination(),
            vcpu.pid.notification_vector(),
        );
        tessera_arch::apic::send_ipi(icr);
    }
}

/// Sets or clears "activate VMX-preemption timer" when it changes.
fn set_preemption_timer(vcpu: &mut Vcpu, on: bool) {
    if vcpu.timer.preemption_on == on {
        return;
    }
    vcpu.set_control(RuntimeControl::PreemptionTimer, on);
    vcpu.timer.preemption_on = on;
}
