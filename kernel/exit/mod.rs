//! VM-exit dispatch: one `match` on tessera-vmx's decision for the basic exit reason
//! (`exit::handling`, which the CPUID table is checked against), each handled by its own module.
//! Every exit is counted per vCPU before it gets here (`crate::run`).

pub mod cpuid;
pub mod ept;
mod inject;
pub mod interrupt;
pub mod io;
pub mod ipi;
pub mod machine_check;
pub mod msr;
pub mod uhyve;
pub mod vmcall;
pub mod xsetbv;

use crate::vcpu::Vcpu;
use tessera_vmx::exit::{handling, ExitReason, ExitReasonField, Handling, StopReason};
use tessera_vmx::fields::NaturalReadOnly;

/// What the run loop does after a handler.
pub enum Flow {
    Resume,
    Stop(StopReason),
}

/// Sends exit `reason` to its handler.
pub fn dispatch(vcpu: &mut Vcpu, reason: ExitReasonField) -> Flow {
    let basic = reason.basic();
    if reason.reason() == Some(ExitReason::EntryFailureMachineCheck) {
        return machine_check::stop();
    }
    if reason.entry_failure() {
        return Flow::Stop(StopReason::EntryFailure {
            reason: basic,
            qualification: qualification(vcpu),
        });
    }
    let Some(reason) = reason.reason() else {
        return Flow::Stop(StopReason::UnhandledExit { reason: basic });
    };
    match handling(reason) {
        Handling::ExternalInterrupt => interrupt::external(vcpu),
        Handling::TripleFault => Flow::Stop(StopReason::TripleFault),
        Handling::MachineCheck => machine_check::exception(vcpu),
        Handling::NmiWindow => nmi_window(vcpu),
        Handling::Cpuid => cpuid::handle(vcpu),
        Handling::Vmcall => vmcall::handle(vcpu),
        Handling::Io => io::handle(vcpu),
        Handling::Rdmsr => msr::rdmsr(vcpu),
        Handling::Wrmsr => msr::wrmsr(vcpu),
        Handling::EptViolation => ept::violation(vcpu),
        Handling::ApicWrite => ipi::apic_write(vcpu),
        // The deadline it timed is due: `vcpu::timer::before_entry` posts it before the next entry.
        Handling::PreemptionTimer => Flow::Resume,
        Handling::Xsetbv => xsetbv::handle(vcpu),
        // A partition owns no cache line another partition does not share: flushing (or, for
        // INVD, discarding) the whole cache would hurt every neighbour, and EPT maps a
        // partition's memory write-back and coherent, so completing without a flush is exact.
        Handling::CacheFlushIgnored => {
            vcpu.skip_instruction();
            Flow::Resume
        }
        Handling::InjectUd => {
            inject::invalid_opcode(vcpu);
            Flow::Resume
        }
        // Trap-like: the locked instruction completed; the exit is counted by the run loop.
        Handling::BusLock => Flow::Resume,
        Handling::Stop => Flow::Stop(StopReason::UnhandledExit { reason: basic }),
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
