//! The boot CPU's stack, which the 32-bit entry (`boot`) switches to, and its guard page: the
//! entry's own page right below it (`linker.ld`), unmapped once the CPU runs on its own GDT.

use core::cell::UnsafeCell;

/// Bytes of the boot CPU's stack, which carries the whole boot (machine check, heap, partitions)
/// before the CPU moves onto its vCPU's host stack: measured deepest use 11,800 bytes (release,
/// whose LTO inlines the boot into few frames) and 27,282 (debug) with the default manifest
/// (`SUMMARY bsp_stack_used_bytes`); 16 KiB and 48 KiB leave at least 4.5 KiB and 20 KiB of margin.
/// The page under it is the 32-bit entry's own (`.boot`, see `linker.ld`), unmapped once the CPU
/// runs on its own GDT: an overflow faults there (`fatal: CPU 0: stack overflow ...`).
#[cfg(not(debug_assertions))]
pub const BSP_STACK_BYTES: usize = 16 * 1024;
#[cfg(debug_assertions)]
pub const BSP_STACK_BYTES: usize = 48 * 1024;

#[repr(C, align(4096))]
pub(crate) struct Stack(UnsafeCell<[u8; BSP_STACK_BYTES]>);

// SAFETY: used only as the boot CPU's stack, through the stack pointer; never accessed as Rust data.
unsafe impl Sync for Stack {}

#[link_section = ".boot_stack"]
pub(crate) static BSP_STACK: Stack = Stack(UnsafeCell::new([0; BSP_STACK_BYTES]));

/// What measures the boot CPU's start-up stack (zeroed until used).
pub(crate) fn bsp_stack_probe() -> crate::stack_probe::StackProbe {
    crate::stack_probe::StackProbe::zero_filled(BSP_STACK.0.get() as u64, BSP_STACK_BYTES)
}

extern "C" {
    /// The first page of the image: the Multiboot2 header, the 32-bit entry and its GDT (`.boot`).
    static __image_start: u8;
}

/// Unmaps the 32-bit entry's page, the guard under the boot CPU's stack. Called once the boot CPU
/// runs on its own GDT (the entry's GDT lies in that page; APs have their own in the trampoline).
pub(crate) fn guard_boot_stack() {
    let page = &raw const __image_start as u64;
    let stack = BSP_STACK.0.get() as u64;
    if stack != page + crate::paging::PAGE_BYTES {
        crate::halt::fatal(format_args!(
            "boot stack at {stack:#x} is not right above the entry page {page:#x} (linker.ld)"
        ));
    }
    if let Err(e) = crate::guard::unmap(page) {
        crate::halt::fatal(format_args!("boot stack guard page: {e}"));
    }
}
