//! The vCPU's local APIC timer on its own CPU (trapped path). Register accesses that exit go to
//! tessera-vmx's software model; before each VM entry a due expiry is posted into the vCPU's own
//! descriptor like an IPI (a halted guest wakes as for an IPI), and the next deadline is timed with
//! the VMX-preemption timer, whose expiry is the only exit an armed timer costs besides the arm.

use crate::vcpu::Vcpu;
use tessera_vmx::apic_timer::{
    preemption_timer_value, ApicTimer, TimerFrequency, SVR_APIC_ENABLED,
};
use tessera_vmx::controls::PinBased;
use tessera_vmx::fields::{Field32Control as C32, Field32Guest as G32};
use tessera_vmx::msr_policy::TimerAccess;
use tessera_vmx::tables::PostOutcome;

/// Virtual-APIC page offsets of the timer registers the guest reads back without exiting.
const SVR: usize = 0x0F0;
const LVT_TIMER: usize = 0x320;
const INITIAL_COUNT: usize = 0x380;
const DIVIDE_CONFIGURATION: usize = 0x3E0;

/// One vCPU's timer state; it lives and dies with the vCPU's run loop.
pub struct VcpuTimer {
    model: ApicTimer,
    /// IA32_VMX_MISC bits 4:0: the preemption timer counts once every 2^rate TSC cycles.
    rate_shift: u8,
    /// Whether "activate VMX-preemption timer" is set in this vCPU's VMCS.
    preemption_on: bool,
    /// Expiries so far, and how many delivered an interrupt (not masked).
    pub expiries: u64,
    pub delivered: u64,
}

impl VcpuTimer {
    pub fn new(frequency: &TimerFrequency, rate_shift: u8) -> Self {
        VcpuTimer {
            model: ApicTimer::new(frequency.tsc_per_count),
            rate_shift,
            preemption_on: false,
            expiries: 0,
            delivered: 0,
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

/// The vCPU stopped: its timer is disarmed for good (and the preemption timer with it), and what it
/// did is logged if it was used.
pub fn stop(vcpu: &mut Vcpu) {
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

/// Applies a timer register access that exited; returns the value a read gives.
pub fn access(vcpu: &mut Vcpu, access: TimerAccess) -> Option<u64> {
    let now = tessera_arch::tsc_cycles();
    let page = vcpu.virtual_apic;
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

/// Before a VM entry: posts a due expiry, then times the next deadline with the preemption timer
/// (or turns it off when nothing is armed).
pub fn before_entry(vcpu: &mut Vcpu) {
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
        vcpu.write(G32::VmxPreemptionTimerValue.encoding(), u64::from(value));
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
    let field = C32::PinBasedControls.encoding();
    let bit = u64::from(PinBased::ACTIVATE_PREEMPTION_TIMER.bits());
    let word = vcpu.read(field);
    vcpu.write(field, if on { word | bit } else { word & !bit });
    vcpu.timer.preemption_on = on;
}
