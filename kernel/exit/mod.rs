//! VM-exit dispatch: one `match` on the basic exit reason, each reason handled by its own module.
//! Every exit is counted per vCPU before it gets here (`crate::run`).

pub mod cpuid;
pub mod ept;
pub mod interrupt;
pub mod io;
pub mod ipi;
pub mod msr;
pub mod uhyve;
pub mod vmcall;

use crate::vcpu::Vcpu;
use tessera_vmx::exit::{ExitReason, ExitReasonField, StopReason};
use tessera_vmx::fields::NaturalReadOnly;

/// What the run loop does after a handler.
pub enum Flow {
    Resume,
    Stop(StopReason),
}

/// Sends exit `reason` to its handler.
pub fn dispatch(vcpu: &mut Vcpu, reason: ExitReasonField) -> Flow {
    let basic = reason.basic();
    if reason.entry_failure() {
        return Flow::Stop(StopReason::EntryFailure {
            reason: basic,
            qualification: qualification(vcpu),
        });
    }
    match reason.reason() {
        Some(ExitReason::ExternalInterrupt) => interrupt::external(vcpu),
        Some(ExitReason::TripleFault) => Flow::Stop(StopReason::TripleFault),
        Some(ExitReason::NmiWindow) => nmi_window(vcpu),
        Some(ExitReason::Cpuid) => cpuid::handle(vcpu),
        Some(ExitReason::Vmcall) => vmcall::handle(vcpu),
        Some(ExitReason::IoInstruction) => io::handle(vcpu),
        Some(ExitReason::Rdmsr) => msr::rdmsr(vcpu),
        Some(ExitReason::Wrmsr) => msr::wrmsr(vcpu),
        Some(ExitReason::EptViolation) => ept::violation(vcpu),
        Some(ExitReason::ApicWrite) => ipi::apic_write(vcpu),
        // The deadline it timed is due: `vcpu::timer::before_entry` posts it before the next entry.
        Some(ExitReason::PreemptionTimer) => Flow::Resume,
        _ => Flow::Stop(StopReason::UnhandledExit { reason: basic }),
    }
}

/// The guest can take an NMI again: stop asking, the run loop injects the pending one.
fn nmi_window(vcpu: &mut Vcpu) -> Flow {
    vcpu.set_nmi_window_exiting(false);
    Flow::Resume
}

/// The exit qualification of the current exit.
pub fn qualification(vcpu: &Vcpu) -> u64 {
    vcpu.read(NaturalReadOnly::ExitQualification.encoding())
}
