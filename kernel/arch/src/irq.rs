//! Host gates for vectors 32-255: the host only enables interrupts while a CPU waits for work (a
//! vCPU waiting for its SIPI halts with interrupts on), so every interrupt it can take is a wake-up,
//! a kick or a posted-interrupt notification: acknowledge it (EOI) and return. The spurious vector
//! (0xFF) returns without EOI, as the SDM requires.

use x86_64::structures::idt::InterruptDescriptorTable;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .text.irq, "ax"
    .global tessera_irq_eoi_stub
    .global tessera_irq_spurious_stub
tessera_irq_eoi_stub:
    push rax
    push rcx
    push rdx
    mov ecx, 0x80B
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    pop rax
    iretq
tessera_irq_spurious_stub:
    iretq
    .text
"#
);

#[cfg(target_os = "none")]
extern "C" {
    fn tessera_irq_eoi_stub();
    fn tessera_irq_spurious_stub();
}

/// Fills gates 32-255 of `idt` (called while the boot CPU builds the IDT).
#[cfg(target_os = "none")]
pub(crate) fn install(idt: &mut InterruptDescriptorTable) {
    use x86_64::VirtAddr;
    let eoi = VirtAddr::new(tessera_irq_eoi_stub as *const () as u64);
    let spurious = VirtAddr::new(tessera_irq_spurious_stub as *const () as u64);
    for vector in 32..=255u8 {
        let handler = if vector == crate::apic::SPURIOUS_VECTOR {
            spurious
        } else {
            eoi
        };
        // SAFETY: both stubs are interrupt handlers that preserve every register they touch and
        // return with IRETQ; external interrupts push no error code, so the frame matches.
        unsafe {
            idt[vector].set_handler_addr(handler);
        }
    }
}

#[cfg(not(target_os = "none"))]
pub(crate) fn install(_idt: &mut InterruptDescriptorTable) {}
