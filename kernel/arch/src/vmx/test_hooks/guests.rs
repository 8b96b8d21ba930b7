//! The self-test images' guest programs (`tests/emulator/vmx-selftest`), assembled here because
//! `global_asm!` is unsafe code, which the self-test crate forbids. Each runs in VMX non-root on
//! the host's page tables; the functions below give their entry points (guest RIPs). The counters
//! the target guest's handlers and flags use are statics here, read and written by the self-test.

use core::sync::atomic::AtomicU64;

/// Deliveries counted by the target guest's handlers, per vector 0x40 + i.
pub static DELIVERIES: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
/// Set to 1 by the target guest once it runs (still with interrupts disabled).
pub static TARGET_ALIVE: AtomicU64 = AtomicU64::new(0);
/// The target guest spins with IF = 0 until this is non-zero, then enables interrupts.
pub static TARGET_RELEASE: AtomicU64 = AtomicU64::new(0);

// The guest guest programs (tests/emulator/vmx-selftest/src/guest.rs).
core::arch::global_asm!(
    r#"
    .section .text.guests, "ax"
    .global selftest_sender_guest
    .global selftest_sender_after_wrmsr
    .global selftest_target_guest
selftest_sender_guest:
    vmcall
    wrmsr
selftest_sender_after_wrmsr:
    jmp selftest_sender_guest

selftest_target_guest:
    lock inc qword ptr [rip + {alive}]
1:
    cmp qword ptr [rip + {release}], 0
    je 1b
    sti
    // A virtual interrupt already pending in the virtual IRR is delivered after this NOP (STI
    // blocks for one instruction), before the HLT, so the first case does not depend on HLT
    // being woken by it (fix 5, checked on its own by hlt_wake.rs).
    nop
2:
    hlt
    jmp 2b

    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .global selftest_isr_\i
selftest_isr_\i:
    push rax
    push rcx
    push rdx
    lock inc qword ptr [rip + {counts} + 8 * \i]
    mov ecx, 0x80B
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq
    .endr

    .text
"#,
    alive = sym TARGET_ALIVE,
    release = sym TARGET_RELEASE,
    counts = sym DELIVERIES,
);

extern "C" {
    fn selftest_sender_guest();
    fn selftest_sender_after_wrmsr();
    fn selftest_target_guest();
    fn selftest_isr_0();
    fn selftest_isr_1();
    fn selftest_isr_2();
    fn selftest_isr_3();
    fn selftest_isr_4();
    fn selftest_isr_5();
    fn selftest_isr_6();
    fn selftest_isr_7();
    fn selftest_isr_8();
    fn selftest_isr_9();
    fn selftest_isr_10();
    fn selftest_isr_11();
    fn selftest_isr_12();
    fn selftest_isr_13();
    fn selftest_isr_14();
    fn selftest_isr_15();
}

// The hlt wake guest programs (tests/emulator/vmx-selftest/src/hlt_wake.rs).
core::arch::global_asm!(
    r#"
    .section .text.guests, "ax"
    .global selftest_hlt_guest
selftest_hlt_guest:
    sti
    hlt
    vmcall
    jmp selftest_hlt_guest
    .text
"#
);

extern "C" {
    fn selftest_hlt_guest();
}

// The timer guests guest programs (tests/emulator/vmx-selftest/src/timer_guests.rs).
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

// The xapic guest programs (tests/emulator/vmx-selftest/src/xapic.rs).
core::arch::global_asm!(
    r#"
    .section .text.guests, "ax"
    .global selftest_xapic_sender
    .global selftest_xapic_after_icr
selftest_xapic_sender:
    vmcall
    mov dword ptr [rdi + 0x310], edx
    mov dword ptr [rdi + 0x300], eax
selftest_xapic_after_icr:
    jmp selftest_xapic_sender
    .text
"#
);

extern "C" {
    fn selftest_xapic_sender();
    fn selftest_xapic_after_icr();
}

/// A guest program's entry point (its guest RIP: the host's page tables map it 1:1).
macro_rules! entries {
    ($($(#[$meta:meta])* $name:ident => $symbol:ident;)*) => {$(
        $(#[$meta])*
        pub fn $name() -> u64 {
            $symbol as *const () as u64
        }
    )*};
}

entries! {
    /// Where the x2APIC sender starts (its `vmcall`).
    sender_entry => selftest_sender_guest;
    /// Right after the sender's `wrmsr`: where a trap-like APIC-write exit must report.
    sender_after_wrmsr => selftest_sender_after_wrmsr;
    /// Where the target starts.
    target_entry => selftest_target_guest;
    /// The `sti; hlt; vmcall` guest of the HLT wake-up case.
    hlt_guest => selftest_hlt_guest;
    timer_arm_halt => selftest_timer_arm_halt;
    timer_rearm_halt => selftest_timer_rearm_halt;
    timer_disarm_spin => selftest_timer_disarm_spin;
    timer_masked_if => selftest_timer_masked_if;
    timer_masked_tpr => selftest_timer_masked_tpr;
    timer_past => selftest_timer_past;
    timer_across_exit => selftest_timer_across_exit;
    /// Where the xAPIC sender starts.
    xapic_sender => selftest_xapic_sender;
    /// Right after the xAPIC sender's write of 300H.
    xapic_after_icr => selftest_xapic_after_icr;
}

/// Addresses of the 16 counting handlers (vector 0x40 + i).
pub fn isr_addresses() -> [u64; 16] {
    let stubs: [unsafe extern "C" fn(); 16] = [
        selftest_isr_0,
        selftest_isr_1,
        selftest_isr_2,
        selftest_isr_3,
        selftest_isr_4,
        selftest_isr_5,
        selftest_isr_6,
        selftest_isr_7,
        selftest_isr_8,
        selftest_isr_9,
        selftest_isr_10,
        selftest_isr_11,
        selftest_isr_12,
        selftest_isr_13,
        selftest_isr_14,
        selftest_isr_15,
    ];
    stubs.map(|f| f as *const () as u64)
}
