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
/// The guest programs are assembled in tessera-arch (`global_asm!` is unsafe code, forbidden
/// here); their counters and flags live there too.
#[cfg(target_os = "none")]
pub use tessera_arch::vmx::test_hooks::guests::{
    isr_addresses, sender_after_wrmsr, sender_entry, target_entry, DELIVERIES, TARGET_ALIVE,
    TARGET_RELEASE,
};

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
