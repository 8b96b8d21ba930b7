//! VM-execution, VM-exit and VM-entry control bits (SDM Vol. 3C 25.6 "VM-Execution Control Fields",
//! 25.7.1 "VM-Exit Controls", 25.8.1 "VM-Entry Controls"; Linux `asm/vmx.h` uses the same positions).

use bitflags::bitflags;

bitflags! {
    /// Pin-based VM-execution controls (SDM Vol. 3C 25.6.1, Table 25-5).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PinBased: u32 {
        const EXTERNAL_INTERRUPT_EXITING = 1 << 0;
        const NMI_EXITING = 1 << 3;
        const VIRTUAL_NMIS = 1 << 5;
        const ACTIVATE_PREEMPTION_TIMER = 1 << 6;
        const PROCESS_POSTED_INTERRUPTS = 1 << 7;
    }
}

bitflags! {
    /// Primary processor-based VM-execution controls (SDM Vol. 3C 25.6.2, Table 25-6).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PrimaryProcBased: u32 {
        const INTERRUPT_WINDOW_EXITING = 1 << 2;
        const USE_TSC_OFFSETTING = 1 << 3;
        const HLT_EXITING = 1 << 7;
        const INVLPG_EXITING = 1 << 9;
        const MWAIT_EXITING = 1 << 10;
        const RDPMC_EXITING = 1 << 11;
        const RDTSC_EXITING = 1 << 12;
        const CR3_LOAD_EXITING = 1 << 15;
        const CR3_STORE_EXITING = 1 << 16;
        /// Activate tertiary controls (needed for IPI virtualization).
        const ACTIVATE_TERTIARY_CONTROLS = 1 << 17;
        const CR8_LOAD_EXITING = 1 << 19;
        const CR8_STORE_EXITING = 1 << 20;
        const USE_TPR_SHADOW = 1 << 21;
        const NMI_WINDOW_EXITING = 1 << 22;
        const MOV_DR_EXITING = 1 << 23;
        const UNCONDITIONAL_IO_EXITING = 1 << 24;
        const USE_IO_BITMAPS = 1 << 25;
        const MONITOR_TRAP_FLAG = 1 << 27;
        const USE_MSR_BITMAPS = 1 << 28;
        const MONITOR_EXITING = 1 << 29;
        const PAUSE_EXITING = 1 << 30;
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
    }
}

bitflags! {
    /// Secondary processor-based VM-execution controls (SDM Vol. 3C 25.6.2, Table 25-7).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SecondaryProcBased: u32 {
        const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
        const ENABLE_EPT = 1 << 1;
        const DESCRIPTOR_TABLE_EXITING = 1 << 2;
        const ENABLE_RDTSCP = 1 << 3;
        const VIRTUALIZE_X2APIC_MODE = 1 << 4;
        const ENABLE_VPID = 1 << 5;
        const WBINVD_EXITING = 1 << 6;
        const UNRESTRICTED_GUEST = 1 << 7;
        const APIC_REGISTER_VIRTUALIZATION = 1 << 8;
        const VIRTUAL_INTERRUPT_DELIVERY = 1 << 9;
        const PAUSE_LOOP_EXITING = 1 << 10;
        const RDRAND_EXITING = 1 << 11;
        const ENABLE_INVPCID = 1 << 12;
        const ENABLE_VM_FUNCTIONS = 1 << 13;
        const VMCS_SHADOWING = 1 << 14;
        const ENABLE_ENCLS_EXITING = 1 << 15;
        const RDSEED_EXITING = 1 << 16;
        const ENABLE_PML = 1 << 17;
        const EPT_VIOLATION_VE = 1 << 18;
        const CONCEAL_VMX_FROM_PT = 1 << 19;
        const ENABLE_XSAVES_XRSTORS = 1 << 20;
        const PASID_TRANSLATION = 1 << 21;
        const MODE_BASED_EPT_EXECUTE = 1 << 22;
        const SUB_PAGE_WRITE_PERMISSIONS = 1 << 23;
        const PT_USES_GUEST_PHYSICAL = 1 << 24;
        const USE_TSC_SCALING = 1 << 25;
        const ENABLE_USER_WAIT_PAUSE = 1 << 26;
        const ENABLE_PCONFIG = 1 << 27;
        const ENABLE_ENCLV_EXITING = 1 << 28;
        /// VMM bus-lock detection: a bus lock in the guest causes a (trap-like) VM exit.
        const VMM_BUS_LOCK_DETECTION = 1 << 30;
    }
}

bitflags! {
    /// Tertiary processor-based VM-execution controls (64-bit field 0x2034; SDM Vol. 3C 25.6.2, Table 25-8).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TertiaryProcBased: u64 {
        const LOADIWKEY_EXITING = 1 << 0;
        const ENABLE_HLAT = 1 << 1;
        const EPT_PAGING_WRITE_CONTROL = 1 << 2;
        const GUEST_PAGING_VERIFICATION = 1 << 3;
        /// IPI virtualization (IPIv).
        const IPI_VIRTUALIZATION = 1 << 4;
        const ENABLE_MSRLIST = 1 << 6;
        const VIRTUALIZE_IA32_SPEC_CTRL = 1 << 7;
        /// APIC-timer virtualization: the guest's TSC-deadline timer without VM exits
        /// (apic-timer-virt.md; KVM names it GUEST_APIC_TIMER).
        const APIC_TIMER_VIRTUALIZATION = 1 << 8;
    }
}

bitflags! {
    /// Primary VM-exit controls (SDM Vol. 3C 25.7.1, Table 25-13).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ExitControls: u32 {
        const SAVE_DEBUG_CONTROLS = 1 << 2;
        /// Host address-space size: the host runs in 64-bit mode after the exit.
        const HOST_ADDRESS_SPACE_SIZE = 1 << 9;
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 12;
        /// Acknowledge interrupt on exit: the vector is stored in the exit interruption information.
        const ACKNOWLEDGE_INTERRUPT_ON_EXIT = 1 << 15;
        const SAVE_IA32_PAT = 1 << 18;
        const LOAD_IA32_PAT = 1 << 19;
        const SAVE_IA32_EFER = 1 << 20;
        const LOAD_IA32_EFER = 1 << 21;
        const SAVE_PREEMPTION_TIMER = 1 << 22;
        const CLEAR_IA32_BNDCFGS = 1 << 23;
        const CONCEAL_VMX_FROM_PT = 1 << 24;
        const CLEAR_IA32_RTIT_CTL = 1 << 25;
        const CLEAR_IA32_LBR_CTL = 1 << 26;
        const CLEAR_UINV = 1 << 27;
        const LOAD_CET_STATE = 1 << 28;
        const LOAD_PKRS = 1 << 29;
        const SAVE_IA32_PERF_GLOBAL_CTL = 1 << 30;
        const ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
    }
}

bitflags! {
    /// VM-entry controls (SDM Vol. 3C 25.8.1, Table 25-15).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct EntryControls: u32 {
        const LOAD_DEBUG_CONTROLS = 1 << 2;
        /// IA-32e mode guest: the guest runs in 64-bit mode after entry.
        const IA32E_MODE_GUEST = 1 << 9;
        const ENTRY_TO_SMM = 1 << 10;
        const DEACTIVATE_DUAL_MONITOR = 1 << 11;
        const LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13;
        const LOAD_IA32_PAT = 1 << 14;
        const LOAD_IA32_EFER = 1 << 15;
        const LOAD_IA32_BNDCFGS = 1 << 16;
        const CONCEAL_VMX_FROM_PT = 1 << 17;
        const LOAD_IA32_RTIT_CTL = 1 << 18;
        const LOAD_UINV = 1 << 19;
        const LOAD_CET_STATE = 1 << 20;
        const LOAD_GUEST_IA32_LBR_CTL = 1 << 21;
        const LOAD_PKRS = 1 << 22;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipiv_bits_are_where_linux_and_bochs_put_them() {
        assert_eq!(
            PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits(),
            0x0002_0000
        );
        assert_eq!(TertiaryProcBased::IPI_VIRTUALIZATION.bits(), 0x10);
        assert_eq!(TertiaryProcBased::APIC_TIMER_VIRTUALIZATION.bits(), 0x100);
        assert_eq!(PinBased::ACTIVATE_PREEMPTION_TIMER.bits(), 0x40);
        assert_eq!(PinBased::PROCESS_POSTED_INTERRUPTS.bits(), 0x80);
    }

    #[test]
    fn apic_virtualization_bits_match_linux_constants() {
        let apicv = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE
            | SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION
            | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY;
        assert_eq!(apicv.bits(), 0x0000_0310);
        assert_eq!(
            ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT.bits(),
            0x0000_8000
        );
        assert_eq!(EntryControls::IA32E_MODE_GUEST.bits(), 0x0000_0200);
    }
}
