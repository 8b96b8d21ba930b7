//! Entering the guest (VMLAUNCH/VMRESUME) and coming back on a VM exit: the host's callee-saved
//! registers are kept on the stack, HOST_RSP points just below them, and the exit stub stores the
//! guest's general registers into `GuestRegisters` and returns to the caller of `enter`.

/// The guest's general-purpose registers (RSP and RIP live in the VMCS).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GuestRegisters {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// Encoding of the HOST_RSP field, written by the assembly right before each entry.
pub const HOST_RSP: u32 = tessera_vmx::fields::NaturalHost::Rsp.encoding();

/// What `tessera_vmx_enter` returns.
pub const ENTER_EXITED: u64 = 0;
pub const ENTER_FAIL_VALID: u64 = 1;
pub const ENTER_FAIL_INVALID: u64 = 2;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .text.vmx_enter, "ax"
    .global tessera_vmx_enter
    .global tessera_vmx_exit
/* rdi = &mut GuestRegisters, rsi = 1 to VMRESUME, 0 to VMLAUNCH. Returns 0 after a VM exit,
   1 on VMfailValid, 2 on VMfailInvalid. */
tessera_vmx_enter:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi
    mov eax, {host_rsp}
    vmwrite rax, rsp
    jbe 3f
    test rsi, rsi
    mov rax, rdi
    mov rbx, [rax + 8]
    mov rcx, [rax + 16]
    mov rdx, [rax + 24]
    mov rsi, [rax + 32]
    mov rdi, [rax + 40]
    mov rbp, [rax + 48]
    mov r8, [rax + 56]
    mov r9, [rax + 64]
    mov r10, [rax + 72]
    mov r11, [rax + 80]
    mov r12, [rax + 88]
    mov r13, [rax + 96]
    mov r14, [rax + 104]
    mov r15, [rax + 112]
    mov rax, [rax]
    jnz 1f
    vmlaunch
    jmp 3f
1:
    vmresume
3:
    mov eax, 1
    jnc 4f
    mov eax, 2
/* Shared epilogue: drop the saved GuestRegisters pointer, restore the host's callee-saved registers. */
4:
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

tessera_vmx_exit:
    push rax
    mov rax, [rsp + 8]
    mov [rax + 8], rbx
    mov [rax + 16], rcx
    mov [rax + 24], rdx
    mov [rax + 32], rsi
    mov [rax + 40], rdi
    mov [rax + 48], rbp
    mov [rax + 56], r8
    mov [rax + 64], r9
    mov [rax + 72], r10
    mov [rax + 80], r11
    mov [rax + 88], r12
    mov [rax + 96], r13
    mov [rax + 104], r14
    mov [rax + 112], r15
    pop qword ptr [rax]
    xor eax, eax
    jmp 4b
    .text
"#,
    host_rsp = const HOST_RSP,
);

#[cfg(target_os = "none")]
extern "C" {
    /// Enters the guest; see the assembly above.
    pub(crate) fn tessera_vmx_enter(regs: *mut GuestRegisters, resume: u64) -> u64;
    /// HOST_RIP: where the processor continues after a VM exit.
    pub(crate) fn tessera_vmx_exit();
}

#[cfg(test)]
mod tests {
    use super::GuestRegisters;
    use core::mem::offset_of;

    #[test]
    fn register_offsets_match_the_assembly() {
        assert_eq!(offset_of!(GuestRegisters, rax), 0);
        assert_eq!(offset_of!(GuestRegisters, rbp), 48);
        assert_eq!(offset_of!(GuestRegisters, r8), 56);
        assert_eq!(offset_of!(GuestRegisters, r15), 112);
    }
}
