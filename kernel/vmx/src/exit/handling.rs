//! What Tessera does with each basic exit reason: the one decision the kernel's dispatch matches on
//! and the CPUID table checks (a feature is passed to a guest only when the exit behind it is
//! handled here, not stopped).

use super::ExitReason;

/// How the kernel handles an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// A host interrupt arrived while the guest ran: acknowledge it and resume.
    ExternalInterrupt,
    /// The guest can take an NMI again: inject the pending one.
    NmiWindow,
    /// CPUID: the guest's answer from `cpuid::emulate`.
    Cpuid,
    /// VMCALL: Tessera's hypercall ABI (refused with #UD above CPL 0).
    Vmcall,
    /// I/O instruction on a port the bitmaps do not pass.
    Io,
    /// RDMSR: `msr_policy::on_rdmsr`.
    Rdmsr,
    /// WRMSR: `msr_policy::on_wrmsr`.
    Wrmsr,
    /// EPT violation: outside the partition, stop.
    EptViolation,
    /// A virtualized APIC write that traps (ICR, self-IPI).
    ApicWrite,
    /// The vCPU's timer deadline is due.
    PreemptionTimer,
    /// XSETBV: checked against what the partition may enable, then loaded (`cpuid::xsave`).
    Xsetbv,
    /// INVD, WBINVD, WBNOINVD: completed without touching the caches every partition shares.
    CacheFlushIgnored,
    /// A VMX instruction: #UD, as on a processor without VMX (CPUID hides it).
    InjectUd,
    /// A bus lock completed (VMM bus-lock detection): counted, then resumed.
    BusLock,
    /// Exception or NMI (basic reason 0): only #MC is intercepted, a machine check while the
    /// guest ran; the hypervisor reads and ends it and stops the vCPU (`machine_check`).
    MachineCheck,
    /// Triple fault: stop the vCPU.
    TripleFault,
    /// Anything else: stop the vCPU (`unhandled exit`).
    Stop,
}

/// Whether the vCPU may run on after an exit handled so: false for the handlings that always
/// stop it (an EPT violation, a triple fault, a machine check, an unhandled exit).
pub const fn may_resume(handling: Handling) -> bool {
    !matches!(
        handling,
        Handling::EptViolation | Handling::TripleFault | Handling::MachineCheck | Handling::Stop
    )
}

/// How the kernel handles exit `reason`.
pub const fn handling(reason: ExitReason) -> Handling {
    use ExitReason as R;
    match reason {
        R::ExternalInterrupt => Handling::ExternalInterrupt,
        R::NmiWindow => Handling::NmiWindow,
        R::Cpuid => Handling::Cpuid,
        R::Vmcall => Handling::Vmcall,
        R::IoInstruction => Handling::Io,
        R::Rdmsr => Handling::Rdmsr,
        R::Wrmsr => Handling::Wrmsr,
        R::EptViolation => Handling::EptViolation,
        R::ApicWrite => Handling::ApicWrite,
        R::PreemptionTimer => Handling::PreemptionTimer,
        R::Xsetbv => Handling::Xsetbv,
        R::Invd | R::Wbinvd => Handling::CacheFlushIgnored,
        R::Vmclear
        | R::Vmlaunch
        | R::Vmptrld
        | R::Vmptrst
        | R::Vmread
        | R::Vmresume
        | R::Vmwrite
        | R::Vmxoff
        | R::Vmxon
        | R::Invept
        | R::Invvpid
        | R::Vmfunc => Handling::InjectUd,
        R::BusLock => Handling::BusLock,
        R::TripleFault => Handling::TripleFault,
        R::ExceptionOrNmi | R::EntryFailureMachineCheck => Handling::MachineCheck,
        _ => Handling::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmx_instructions_fault_and_cache_flushes_complete() {
        for reason in [ExitReason::Vmxon, ExitReason::Vmread, ExitReason::Invept] {
            assert_eq!(handling(reason), Handling::InjectUd, "{reason:?}");
        }
        assert_eq!(handling(ExitReason::Invd), Handling::CacheFlushIgnored);
        assert_eq!(handling(ExitReason::Wbinvd), Handling::CacheFlushIgnored);
        assert_eq!(handling(ExitReason::Xsetbv), Handling::Xsetbv);
    }

    #[test]
    fn machine_checks_are_the_hypervisor_s() {
        assert_eq!(handling(ExitReason::ExceptionOrNmi), Handling::MachineCheck);
        assert_eq!(
            handling(ExitReason::EntryFailureMachineCheck),
            Handling::MachineCheck
        );
    }

    #[test]
    fn exits_nobody_asked_for_stop_the_vcpu() {
        for reason in [
            ExitReason::Hlt,
            ExitReason::Rdpmc,
            ExitReason::Getsec,
            ExitReason::Xsaves,
        ] {
            assert_eq!(handling(reason), Handling::Stop, "{reason:?}");
        }
    }
}
