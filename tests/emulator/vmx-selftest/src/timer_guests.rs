//! The guests of the APIC-timer virtualization cases (`timer_virt`), run in VMX non-root on the
//! host's page tables with the counting IDT. Inputs come in registers the host sets before entry
//! (RBX, RSI), results go back in R12-R15; every guest ends each step with VMCALL. IA32_TSC_DEADLINE
//! is MSR 0x6E0. The programs themselves are assembled in tessera-arch's test hooks
//! (`test_hooks::guests`, where `global_asm!` may live); this module names them.

use tessera_arch::vmx::test_hooks::guests;

/// The guest programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    ArmHalt,
    RearmHalt,
    DisarmSpin,
    MaskedIf,
    MaskedTpr,
    Past,
    AcrossExit,
}

impl Program {
    /// Guest RIP of the program.
    pub fn entry(self) -> u64 {
        match self {
            Program::ArmHalt => guests::timer_arm_halt(),
            Program::RearmHalt => guests::timer_rearm_halt(),
            Program::DisarmSpin => guests::timer_disarm_spin(),
            Program::MaskedIf => guests::timer_masked_if(),
            Program::MaskedTpr => guests::timer_masked_tpr(),
            Program::Past => guests::timer_past(),
            Program::AcrossExit => guests::timer_across_exit(),
        }
    }
}
