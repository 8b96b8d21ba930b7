//! VM-instruction error numbers (field 0x4400) and the qualification of a VM-entry failure exit
//! (SDM Vol. 3C 31.4 "VM Instruction Error Numbers", 27.8 "VM-Entry Failures During or After Loading
//! Guest State"), as text for the boot and fault logs.

/// The SDM's description of VM-instruction error `number`.
pub const fn instruction_error_text(number: u32) -> &'static str {
    match number {
        1 => "VMCALL executed in VMX root operation",
        2 => "VMCLEAR with invalid physical address",
        3 => "VMCLEAR with VMXON pointer",
        4 => "VMLAUNCH with non-clear VMCS",
        5 => "VMRESUME with non-launched VMCS",
        6 => "VMRESUME after VMXOFF",
        7 => "VM entry with invalid control field(s)",
        8 => "VM entry with invalid host-state field(s)",
        9 => "VMPTRLD with invalid physical address",
        10 => "VMPTRLD with VMXON pointer",
        11 => "VMPTRLD with incorrect VMCS revision identifier",
        12 => "VMREAD/VMWRITE from/to unsupported VMCS component",
        13 => "VMWRITE to read-only VMCS component",
        15 => "VMXON executed in VMX root operation",
        16 => "VM entry with invalid executive-VMCS pointer",
        17 => "VM entry with non-launched executive VMCS",
        18 => "VM entry with executive-VMCS pointer not VMXON pointer",
        19 => "VMCALL with non-clear VMCS",
        20 => "VMCALL with invalid VM-exit control fields",
        22 => "VMCALL with incorrect MSEG revision identifier",
        23 => "VMXOFF under dual-monitor treatment of SMIs and SMM",
        24 => "VMCALL with invalid SMM-monitor features",
        25 => "VM entry with invalid VM-execution control fields in executive VMCS",
        26 => "VM entry with events blocked by MOV SS",
        28 => "invalid operand to INVEPT/INVVPID",
        _ => "unknown VM-instruction error",
    }
}

/// What failed, for exit reason 33 (invalid guest state) from its exit qualification.
pub const fn guest_state_failure_text(qualification: u64) -> &'static str {
    match qualification {
        0 => "a guest-state field is invalid (SDM 26.3.1)",
        2 => "PDPTE loading failed",
        3 => "NMI injection blocked by guest interruptibility",
        4 => "invalid VMCS link pointer",
        _ => "unknown guest-state failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_entry_errors_have_sdm_text() {
        assert_eq!(
            instruction_error_text(7),
            "VM entry with invalid control field(s)"
        );
        assert_eq!(
            instruction_error_text(8),
            "VM entry with invalid host-state field(s)"
        );
        assert_eq!(
            instruction_error_text(12),
            "VMREAD/VMWRITE from/to unsupported VMCS component"
        );
        assert_eq!(instruction_error_text(14), "unknown VM-instruction error");
    }

    #[test]
    fn guest_state_failures() {
        assert_eq!(guest_state_failure_text(4), "invalid VMCS link pointer");
        assert_eq!(guest_state_failure_text(1), "unknown guest-state failure");
    }
}
