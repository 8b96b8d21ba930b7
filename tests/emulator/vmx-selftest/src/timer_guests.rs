//! The guests of the APIC-timer virtualization cases (`timer_virt`), run in VMX non-root on the
//! host's page tables with the counting IDT. Inputs come in registers the host sets before entry
//! (RBX, RSI), results go back in R12-R15; every guest ends each step with VMCALL. IA32_TSC_DEADLINE
//! is MSR 0x6E0; `deadline_now_plus reg` leaves TSC + reg in RAX (and EDX:EAX for WRMSR).

core::arch::global_asm!(
    r#"
    .section .text.guests, "ax"

    .macro tsc_to_rax
    rdtsc
    shl rdx, 32
    or rax, rdx
    .endm
    .macro wrmsr_rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0x6E0
    wrmsr
    .endm
    .macro rdmsr_to reg
    mov ecx, 0x6E0
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov \reg, rax
    .endm

    // Arm TSC + RBX (R12 = deadline), read it back (R13), STI; HLT until the timer wakes the guest,
    // R14 = TSC after the wake, R15 = the MSR after it.
    .global selftest_timer_arm_halt
selftest_timer_arm_halt:
    tsc_to_rax
    add rax, rbx
    mov r12, rax
    wrmsr_rax
    rdmsr_to r13
    sti
    hlt
    cli
    tsc_to_rax
    mov r14, rax
    rdmsr_to r15
    vmcall

    // Arm TSC + RBX, re-arm TSC + RSI (R12 = the second deadline), STI; HLT; R14 = TSC after the wake.
    .global selftest_timer_rearm_halt
selftest_timer_rearm_halt:
    tsc_to_rax
    mov r8, rax
    add rax, rbx
    wrmsr_rax
    mov rax, r8
    add rax, rsi
    mov r12, rax
    wrmsr_rax
    sti
    hlt
    cli
    tsc_to_rax
    mov r14, rax
    vmcall

    // Arm TSC + RBX, write 0, spin with IF = 1 for RSI cycles, R15 = the MSR.
    .global selftest_timer_disarm_spin
selftest_timer_disarm_spin:
    tsc_to_rax
    mov r8, rax
    add rax, rbx
    wrmsr_rax
    xor eax, eax
    wrmsr_rax
    sti
    add r8, rsi
1:  tsc_to_rax
    cmp rax, r8
    jb 1b
    cli
    rdmsr_to r15
    vmcall

    // With IF = 0: arm TSC + RBX, spin RSI cycles, R15 = the MSR, VMCALL; then STI; NOP (the
    // interrupt is taken here); CLI; VMCALL.
    .global selftest_timer_masked_if
selftest_timer_masked_if:
    cli
    tsc_to_rax
    mov r8, rax
    add rax, rbx
    wrmsr_rax
    add r8, rsi
1:  tsc_to_rax
    cmp rax, r8
    jb 1b
    rdmsr_to r15
    vmcall
    sti
    nop
    cli
    vmcall

    // With IF = 1 and TPR 0xF0 (CR8 = 15, above the vector's class): arm TSC + RBX, spin RSI
    // cycles, R15 = the MSR, VMCALL; then CR8 = 0 (the interrupt is delivered); NOP; CLI; VMCALL.
    .global selftest_timer_masked_tpr
selftest_timer_masked_tpr:
    mov eax, 15
    mov cr8, rax
    sti
    tsc_to_rax
    mov r8, rax
    add rax, rbx
    wrmsr_rax
    add r8, rsi
1:  tsc_to_rax
    cmp rax, r8
    jb 1b
    rdmsr_to r15
    vmcall
    xor eax, eax
    mov cr8, rax
    nop
    cli
    vmcall

    // With IF = 1: write RBX (a deadline already past), NOP, NOP, CLI, R15 = the MSR.
    .global selftest_timer_past
selftest_timer_past:
    sti
    mov rax, rbx
    wrmsr_rax
    nop
    nop
    cli
    rdmsr_to r15
    vmcall

    // Arm TSC + RBX (R12), VMCALL (the host checks the saved deadline and lets it pass in VMX
    // root); then STI; NOP; NOP; CLI; R15 = the MSR; VMCALL.
    .global selftest_timer_across_exit
selftest_timer_across_exit:
    tsc_to_rax
    add rax, rbx
    mov r12, rax
    wrmsr_rax
    vmcall
    sti
    nop
    nop
    cli
    rdmsr_to r15
    vmcall

    .text
"#
);

extern "C" {
    fn selftest_timer_arm_halt();
    fn selftest_timer_rearm_halt();
    fn selftest_timer_disarm_spin();
    fn selftest_timer_masked_if();
    fn selftest_timer_masked_tpr();
    fn selftest_timer_past();
    fn selftest_timer_across_exit();
}

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
        let f: unsafe extern "C" fn() = match self {
            Program::ArmHalt => selftest_timer_arm_halt,
            Program::RearmHalt => selftest_timer_rearm_halt,
            Program::DisarmSpin => selftest_timer_disarm_spin,
            Program::MaskedIf => selftest_timer_masked_if,
            Program::MaskedTpr => selftest_timer_masked_tpr,
            Program::Past => selftest_timer_past,
            Program::AcrossExit => selftest_timer_across_exit,
        };
        f as *const () as u64
    }
}
