//! Basic exit reasons (SDM Vol. 3D Appendix C "VMX Basic Exit Reasons") and the exit-reason field
//! (SDM Vol. 3C 28.2.1, Table 28-1: bits 15:0 basic reason, bit 31 VM-entry failure).

/// Defines the reason enum together with its short report names and a lookup from the number.
macro_rules! exit_reasons {
    ($($variant:ident = $number:literal, $short:literal;)*) => {
        /// A basic exit reason (bits 15:0 of the exit-reason field).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum ExitReason {
            $($variant = $number,)*
        }

        impl ExitReason {
            /// Every reason the SDM defines, in number order.
            pub const ALL: &'static [ExitReason] = &[$(ExitReason::$variant,)*];

            /// The reason for a basic exit-reason number, `None` for numbers the SDM does not define.
            pub const fn from_number(number: u16) -> Option<Self> {
                match number {
                    $($number => Some(ExitReason::$variant),)*
                    _ => None,
                }
            }

            /// Short lowercase name used in exit-count reports (`cpuid`, `ept_violation`).
            pub const fn short_name(self) -> &'static str {
                match self {
                    $(ExitReason::$variant => $short,)*
                }
            }
        }
    };
}

exit_reasons! {
    ExceptionOrNmi = 0, "exception_nmi";
    ExternalInterrupt = 1, "external_interrupt";
    TripleFault = 2, "triple_fault";
    InitSignal = 3, "init";
    StartupIpi = 4, "sipi";
    IoSmi = 5, "io_smi";
    OtherSmi = 6, "other_smi";
    InterruptWindow = 7, "interrupt_window";
    NmiWindow = 8, "nmi_window";
    TaskSwitch = 9, "task_switch";
    Cpuid = 10, "cpuid";
    Getsec = 11, "getsec";
    Hlt = 12, "hlt";
    Invd = 13, "invd";
    Invlpg = 14, "invlpg";
    Rdpmc = 15, "rdpmc";
    Rdtsc = 16, "rdtsc";
    Rsm = 17, "rsm";
    Vmcall = 18, "vmcall";
    Vmclear = 19, "vmclear";
    Vmlaunch = 20, "vmlaunch";
    Vmptrld = 21, "vmptrld";
    Vmptrst = 22, "vmptrst";
    Vmread = 23, "vmread";
    Vmresume = 24, "vmresume";
    Vmwrite = 25, "vmwrite";
    Vmxoff = 26, "vmxoff";
    Vmxon = 27, "vmxon";
    CrAccess = 28, "cr_access";
    DrAccess = 29, "dr_access";
    IoInstruction = 30, "io";
    Rdmsr = 31, "rdmsr";
    Wrmsr = 32, "wrmsr";
    EntryFailureGuestState = 33, "entry_fail_guest_state";
    EntryFailureMsrLoading = 34, "entry_fail_msr_loading";
    Mwait = 36, "mwait";
    MonitorTrapFlag = 37, "monitor_trap_flag";
    Monitor = 39, "monitor";
    Pause = 40, "pause";
    EntryFailureMachineCheck = 41, "entry_fail_machine_check";
    TprBelowThreshold = 43, "tpr_below_threshold";
    ApicAccess = 44, "apic_access";
    VirtualizedEoi = 45, "virtualized_eoi";
    GdtrIdtrAccess = 46, "gdtr_idtr";
    LdtrTrAccess = 47, "ldtr_tr";
    EptViolation = 48, "ept_violation";
    EptMisconfig = 49, "ept_misconfig";
    Invept = 50, "invept";
    Rdtscp = 51, "rdtscp";
    PreemptionTimer = 52, "preemption_timer";
    Invvpid = 53, "invvpid";
    Wbinvd = 54, "wbinvd";
    Xsetbv = 55, "xsetbv";
    ApicWrite = 56, "apic_write";
    Rdrand = 57, "rdrand";
    Invpcid = 58, "invpcid";
    Vmfunc = 59, "vmfunc";
    Encls = 60, "encls";
    Rdseed = 61, "rdseed";
    PmlFull = 62, "pml_full";
    Xsaves = 63, "xsaves";
    Xrstors = 64, "xrstors";
    Pconfig = 65, "pconfig";
    SppEvent = 66, "spp_event";
    Umwait = 67, "umwait";
    Tpause = 68, "tpause";
    Loadiwkey = 69, "loadiwkey";
    Enclv = 70, "enclv";
    EnqcmdPasidFailure = 72, "enqcmd_pasid_fail";
    EnqcmdsPasidFailure = 73, "enqcmds_pasid_fail";
    BusLock = 74, "bus_lock";
    InstructionTimeout = 75, "instruction_timeout";
    Seamcall = 76, "seamcall";
    Tdcall = 77, "tdcall";
    Rdmsrlist = 78, "rdmsrlist";
    Wrmsrlist = 79, "wrmsrlist";
}

/// Largest basic exit-reason number Tessera knows; counters keep one slot per number up to it.
pub const MAX_EXIT_REASON: u16 = 79;

/// The 32-bit exit-reason field read from the VMCS (field 0x4402).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitReasonField(pub u32);

impl ExitReasonField {
    /// Bit 31: the exit was a VM-entry failure (SDM Vol. 3C 27.8).
    pub const ENTRY_FAILURE: u32 = 1 << 31;

    /// The basic exit-reason number (bits 15:0).
    pub const fn basic(self) -> u16 {
        self.0 as u16
    }

    /// The basic reason, `None` when the number is not one the SDM defines.
    pub const fn reason(self) -> Option<ExitReason> {
        ExitReason::from_number(self.basic())
    }

    /// Whether VM entry failed (guest state, MSR loading or machine check while entering).
    pub const fn entry_failure(self) -> bool {
        self.0 & Self::ENTRY_FAILURE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_ordered() {
        let mut previous = None;
        for &reason in ExitReason::ALL {
            assert_eq!(ExitReason::from_number(reason as u16), Some(reason));
            assert!(previous < Some(reason as u16));
            previous = Some(reason as u16);
        }
        assert_eq!(previous, Some(MAX_EXIT_REASON));
    }

    #[test]
    fn tessera_reasons_have_sdm_numbers() {
        assert_eq!(ExitReason::Cpuid as u16, 10);
        assert_eq!(ExitReason::Vmcall as u16, 18);
        assert_eq!(ExitReason::IoInstruction as u16, 30);
        assert_eq!(ExitReason::EntryFailureGuestState as u16, 33);
        assert_eq!(ExitReason::ApicAccess as u16, 44);
        assert_eq!(ExitReason::VirtualizedEoi as u16, 45);
        assert_eq!(ExitReason::EptViolation as u16, 48);
        assert_eq!(ExitReason::ApicWrite as u16, 56);
    }

    /// The reasons the test guests' exit meter and checks read (tests/guest `exits`), against
    /// SDM Vol. 3D Appendix C, so a guest's count cannot drift from what the hypervisor counts.
    #[test]
    fn reasons_the_test_guests_count_have_sdm_numbers() {
        let sdm: [(ExitReason, u16); 19] = [
            (ExitReason::Invd, 13),
            (ExitReason::Vmclear, 19),
            (ExitReason::Vmlaunch, 20),
            (ExitReason::Vmptrld, 21),
            (ExitReason::Vmptrst, 22),
            (ExitReason::Vmread, 23),
            (ExitReason::Vmresume, 24),
            (ExitReason::Vmwrite, 25),
            (ExitReason::Vmxoff, 26),
            (ExitReason::Vmxon, 27),
            (ExitReason::Rdmsr, 31),
            (ExitReason::Wrmsr, 32),
            (ExitReason::Invept, 50),
            (ExitReason::PreemptionTimer, 52),
            (ExitReason::Invvpid, 53),
            (ExitReason::Wbinvd, 54),
            (ExitReason::Xsetbv, 55),
            (ExitReason::Rdtscp, 51),
            (ExitReason::BusLock, 74),
        ];
        for (reason, number) in sdm {
            assert_eq!(reason as u16, number, "{reason:?}");
        }
    }

    #[test]
    fn undefined_numbers_are_none() {
        assert_eq!(ExitReason::from_number(35), None);
        assert_eq!(ExitReason::from_number(71), None);
        assert_eq!(ExitReason::from_number(80), None);
    }

    #[test]
    fn entry_failure_bit_is_separate_from_the_basic_reason() {
        let field = ExitReasonField(0x8000_0021);
        assert!(field.entry_failure());
        assert_eq!(field.reason(), Some(ExitReason::EntryFailureGuestState));
        assert!(!ExitReasonField(0x0000_000A).entry_failure());
    }
}
