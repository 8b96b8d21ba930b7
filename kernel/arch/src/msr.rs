//! Model-specific register access for the rest of the crate.

use x86_64::registers::model_specific::Msr;

/// Reads MSR `index`. A missing MSR raises #GP, which the exception handler reports (no memory effects).
pub fn read(index: u32) -> u64 {
    // SAFETY: reading an MSR has no memory effects; an unimplemented one faults into the reporting handler.
    unsafe { Msr::new(index).read() }
}

/// Writes MSR `index`.
///
/// # Safety
/// The write must not break memory safety (e.g. EFER, GS base, SYSENTER, PAT change how memory is used).
pub unsafe fn write(index: u32, value: u64) {
    // SAFETY: the caller guarantees the write keeps memory safety.
    unsafe { Msr::new(index).write(value) }
}
