//! Machine checks while a guest runs: the exception bitmap intercepts #MC (vector 18, SDM Vol. 3C
//! 26.2 "Other Causes of VM Exits"), so a machine check in VMX non-root operation is a VM exit the
//! hypervisor handles, never an exception delivered through the guest's IDT; one during VM entry is
//! exit reason 41. The hypervisor logs what the banks say, ends the machine check (MCG_STATUS.MCIP
//! cleared, or a second one shuts the processor down) and stops the vCPU that ran: its state may hold
//! corrupted data, while its partition's other vCPUs and every other partition go on.

use super::interruption::{InterruptionInfo, InterruptionType};

/// #MC.
pub const MACHINE_CHECK_VECTOR: u8 = 18;
/// The VMCS exception bitmap (4004H): only #MC exits; every other exception is the guest's.
pub const EXCEPTION_BITMAP: u32 = 1 << MACHINE_CHECK_VECTOR;
/// IA32_MCi_STATUS bit 63: the bank holds a valid error.
pub const BANK_STATUS_VALID: u64 = 1 << 63;

/// Whether an exception-or-NMI exit (basic reason 0) with this VM-exit interruption information
/// is a machine check.
pub const fn is_machine_check(info: InterruptionInfo) -> bool {
    info.valid
        && matches!(info.kind, Some(InterruptionType::HardwareException))
        && info.vector == MACHINE_CHECK_VECTOR
}

/// The number of error-reporting banks IA32_MCG_CAP says the processor has.
pub const fn bank_count(mcg_cap: u64) -> u8 {
    mcg_cap as u8
}

/// What a machine check left in the machine-check registers, for the stop report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MachineCheckReport {
    pub mcg_status: u64,
    /// The first bank with a valid error and its IA32_MCi_STATUS.
    pub first_bank: Option<(u8, u64)>,
}

impl MachineCheckReport {
    /// The report of `mcg_status` and the banks' statuses, in bank order.
    pub fn new(mcg_status: u64, banks: impl IntoIterator<Item = u64>) -> Self {
        let first_bank = banks
            .into_iter()
            .enumerate()
            .find(|(_, status)| status & BANK_STATUS_VALID != 0)
            .map(|(bank, status)| (bank as u8, status));
        MachineCheckReport {
            mcg_status,
            first_bank,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hardware_machine_check_exception_is_one() {
        let mc = InterruptionInfo::decode(InterruptionInfo::inject(
            18,
            InterruptionType::HardwareException,
            false,
        ));
        assert!(is_machine_check(mc));
        let nmi = InterruptionInfo::decode(InterruptionInfo::inject_nmi());
        assert!(!is_machine_check(nmi));
        let int18 = InterruptionInfo::decode(InterruptionInfo::inject(
            18,
            InterruptionType::SoftwareInterrupt,
            false,
        ));
        assert!(
            !is_machine_check(int18),
            "INT 18 is the guest's own business"
        );
        assert!(
            !is_machine_check(InterruptionInfo::decode(18 | 3 << 8)),
            "not valid"
        );
    }

    #[test]
    fn the_bitmap_intercepts_machine_checks_only() {
        assert_eq!(EXCEPTION_BITMAP, 0x40000);
    }

    #[test]
    fn the_report_names_the_first_bank_with_a_valid_error() {
        let report = MachineCheckReport::new(0b101, [0, 1 << 61, BANK_STATUS_VALID | 0x400, 0]);
        assert_eq!(report.first_bank, Some((2, BANK_STATUS_VALID | 0x400)));
        assert_eq!(MachineCheckReport::new(0, [0, 0]).first_bank, None);
        assert_eq!(bank_count(0x0000_0000_0100_0C0A), 10);
    }
}
