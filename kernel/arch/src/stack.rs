//! Moving the calling CPU onto another stack for good (each vCPU's loop runs on its planned host stack).

#[cfg(target_os = "none")]
use crate::fixed_heap::HostStack;

/// Switches to `stack` and calls `entry(arg)`; the old stack is abandoned.
#[cfg(target_os = "none")]
pub fn run_on(stack: HostStack, entry: extern "C" fn(u64) -> !, arg: u64) -> ! {
    let top = stack.top();
    // SAFETY: `stack` is owned heap memory used by nothing else (it is consumed here), its top is
    // 16-byte aligned so `entry` starts with the ABI's alignment; `entry` never returns, so nothing
    // runs on the abandoned stack again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {entry}",
            "ud2",
            top = in(reg) top,
            entry = in(reg) entry,
            in("rdi") arg,
            options(noreturn)
        )
    }
}

/// What measures CPU `cpu_index`'s start-up stack (0: the boot CPU's; an AP's from its slot), which
/// the CPU runs on until `run_on` moves it; none for an index the storage has no slot for.
#[cfg(target_os = "none")]
pub fn startup_stack_probe(cpu_index: usize) -> Option<crate::stack_probe::StackProbe> {
    match cpu_index {
        0 => Some(crate::boot_stack::bsp_stack_probe()),
        i => crate::percpu::slots().ap_stack_probe(i),
    }
}
