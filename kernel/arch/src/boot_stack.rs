//! The boot CPU's stack, which the 32-bit entry (`boot`) switches to, and its guard page: the
//! entry's own page right below it (`linker.ld`), unmapped once the CPU runs on its own GDT.

use core::cell::UnsafeCell;

/// Deepest use of the boot CPU's stack measured with the release build, the whole boot, over every
/// emulator scenario built with the release profile (`cargo xtask stacks`, from `SUMMARY
/// bsp_stack_used_bytes`): 2,656 bytes (`channel-stranger`; 2,192 the default manifest) since the
/// partitions publish their launch data one by one and the MADT is walked in place (3,856 before).
pub const BSP_STACK_MEASURED_RELEASE_BYTES: usize = 2_656;
/// The same with the debug build (no inlining: deeper frames), over every shipped emulator-board
/// manifest and emulator scenario (`cargo xtask stacks --debug`): 12,616 bytes (27,282 before
/// the frames shrank).
pub const BSP_STACK_MEASURED_DEBUG_BYTES: usize = 12_616;
/// Headroom kept above the measured depth (as for host stacks:
/// `tessera_manifest::heap::HOST_STACK_MARGIN_BYTES`).
pub const BSP_STACK_MARGIN_BYTES: usize = 2048;

/// Bytes of the boot CPU's stack, which carries the whole boot (machine check, heap, partitions)
/// before the CPU moves onto its vCPU's host stack: the measured depth plus the margin, in whole
/// KiB. The page under it is the 32-bit entry's own (`.boot`, see `linker.ld`), unmapped once the
/// CPU runs on its own GDT: an overflow faults there (`fatal: CPU 0: stack overflow ...`).
pub const BSP_STACK_BYTES: usize = {
    let measured = if cfg!(debug_assertions) {
        BSP_STACK_MEASURED_DEBUG_BYTES
    } else {
        BSP_STACK_MEASURED_RELEASE_BYTES
    };
    (measured + BSP_STACK_MARGIN_BYTES).next_multiple_of(1024)
};

/// 16-byte aligned (the ABI's stack alignment); its bottom is page-aligned by `linker.ld`, which
/// puts it right after the page-sized `.boot`. Not page-sized: the code follows it directly.
#[repr(C, align(16))]
pub(crate) struct Stack(UnsafeCell<[u8; BSP_STACK_BYTES]>);

// SAFETY: used only as the boot CPU's stack, through the stack pointer; never accessed as Rust data.
unsafe impl Sync for Stack {}

#[link_section = ".bss.boot_stack"]
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
