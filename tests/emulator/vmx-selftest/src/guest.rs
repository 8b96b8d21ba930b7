//! The two trivial guests (run in VMX non-root on the host's own page tables) and the target's IDT.
//!
//! Sender (CPU 0): `vmcall` asks the host for the next ICR value (RCX = 0x830, EDX:EAX = value), then
//! `wrmsr` writes it to the virtual x2APIC ICR, and again. Target (CPU 1): says it is alive, spins with
//! IF = 0 until released (the first case posts to it meanwhile), then enables interrupts and halts
//! (HLT does not exit: a posted interrupt must wake it); a handler per counted vector counts its
//! delivery and writes the virtual EOI.

#[cfg(target_os = "none")]
use crate::cases::FIRST_COUNTED_VECTOR;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_arch::gdt::KERNEL_CODE_SELECTOR;

/// How often the target guest's handler for vector `FIRST_COUNTED_VECTOR + i` ran.
pub static DELIVERIES: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
/// Set to 1 by the target guest once it runs (still with interrupts disabled).
pub static TARGET_ALIVE: AtomicU64 = AtomicU64::new(0);
/// The target guest spins with IF = 0 until this is non-zero, then enables interrupts.
pub static TARGET_RELEASE: AtomicU64 = AtomicU64::new(0);

#[cfg(target_os = "none")]
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

#[cfg(target_os = "none")]
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

/// Guest RIP where the sender starts (its `vmcall`).
#[cfg(target_os = "none")]
pub fn sender_entry() -> u64 {
    selftest_sender_guest as *const () as u64
}

/// Guest RIP right after the sender's `wrmsr`: where a trap-like APIC-write exit must report.
#[cfg(target_os = "none")]
pub fn sender_after_wrmsr() -> u64 {
    selftest_sender_after_wrmsr as *const () as u64
}

/// Guest RIP where the target starts.
#[cfg(target_os = "none")]
pub fn target_entry() -> u64 {
    selftest_target_guest as *const () as u64
}

/// A 64-bit interrupt gate to `handler` (SDM Vol. 3A 6.14.1): present, DPL 0, type 0xE.
pub const fn interrupt_gate(handler: u64, selector: u16) -> [u64; 2] {
    let low = (handler & 0xFFFF)
        | (selector as u64) << 16
        | 0x8E00u64 << 32
        | ((handler >> 16) & 0xFFFF) << 48;
    [low, handler >> 32]
}

/// The target guest's IDT: gates only for the counted vectors (anything else triple-faults and exits).
pub struct GuestIdt([AtomicU64; 512]);

impl GuestIdt {
    pub const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; 512])
    }

    /// Base address for the guest's IDTR.
    pub fn base(&self) -> u64 {
        self.0.as_ptr() as u64
    }

    /// Installs gate `vector` to `handler`.
    pub fn set(&self, vector: u8, handler: u64) {
        let [low, high] = interrupt_gate(handler, KERNEL_CODE_SELECTOR);
        self.0[vector as usize * 2].store(low, Ordering::SeqCst);
        self.0[vector as usize * 2 + 1].store(high, Ordering::SeqCst);
    }

    /// Installs the counting handlers for vectors 0x40..=0x4F.
    #[cfg(target_os = "none")]
    pub fn install_counters(&self) {
        for (i, handler) in isr_addresses().into_iter().enumerate() {
            self.set(FIRST_COUNTED_VECTOR + i as u8, handler);
        }
    }
}

impl Default for GuestIdt {
    fn default() -> Self {
        Self::new()
    }
}

/// Addresses of the 16 counting handlers (vector 0x40 + i).
#[cfg(target_os = "none")]
fn isr_addresses() -> [u64; 16] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_splits_the_handler_address() {
        let [low, high] = interrupt_gate(0x1234_5678_9ABC_DEF0, 0x08);
        assert_eq!(low & 0xFFFF, 0xDEF0);
        assert_eq!((low >> 16) & 0xFFFF, 0x08);
        assert_eq!((low >> 40) & 0xFF, 0x8E);
        assert_eq!(low >> 48, 0x9ABC);
        assert_eq!(high, 0x1234_5678);
    }
}
