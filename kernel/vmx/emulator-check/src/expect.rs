//! The exits the guest must take, with IPIv on (the processor posts the self-IPI, the stranger IPI
//! takes an APIC-write exit) and off (both ICR writes take WRMSR exits).

use tessera_vmx::exit::ExitReason;

/// Basic exit reasons in order, for IPIv on or off.
pub fn expected_exits(ipiv: bool) -> &'static [ExitReason] {
    use ExitReason::*;
    if ipiv {
        &[ApicWrite, Vmcall, Cpuid, Vmcall, EptViolation]
    } else {
        &[Wrmsr, Wrmsr, Vmcall, Cpuid, Vmcall, EptViolation]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipiv_saves_exactly_the_self_ipi_exit() {
        assert_eq!(expected_exits(false).len(), expected_exits(true).len() + 1);
        assert_eq!(expected_exits(true).last(), Some(&ExitReason::EptViolation));
    }
}
