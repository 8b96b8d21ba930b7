//! The raw VMX instructions. Each reports the SDM's three outcomes (30.2 "Conventions"): success,
//! VMfailInvalid (CF = 1, no current VMCS) or VMfailValid (ZF = 1, error number in the VMCS).

use core::arch::asm;
use tessera_vmx::fields::Field32ReadOnly;

/// The VM-instruction error field, read after VMfailValid.
pub(crate) const VM_INSTRUCTION_ERROR: u32 = Field32ReadOnly::VmInstructionError.encoding();

/// How a VMX instruction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmFail {
    /// CF = 1: there is no current VMCS (or VMXON failed).
    Invalid,
    /// ZF = 1: the VM-instruction error field holds this number (SDM 31.4).
    Valid(u32),
}

impl core::fmt::Display for VmFail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            VmFail::Invalid => f.write_str("VMfailInvalid (no current VMCS)"),
            VmFail::Valid(number) => write!(
                f,
                "VMfailValid, VM-instruction error {number} ({})",
                tessera_vmx::exit::instruction_error_text(number)
            ),
        }
    }
}

/// Turns RFLAGS after a VMX instruction into a result (`error_number` read only on VMfailValid).
#[inline]
fn check(rflags: u64) -> Result<(), VmFail> {
    const CF: u64 = 1 << 0;
    const ZF: u64 = 1 << 6;
    if rflags & CF != 0 {
        Err(VmFail::Invalid)
    } else if rflags & ZF != 0 {
        Err(VmFail::Valid(
            vmread(VM_INSTRUCTION_ERROR).map(|e| e as u32).unwrap_or(0),
        ))
    } else {
        Ok(())
    }
}

macro_rules! vmx_op {
    ($insn:literal, $operand:expr) => {{
        let rflags: u64;
        // SAFETY: the caller upholds the instruction's contract (documented on the wrapper); the
        // instruction reads only the 8-byte physical address operand on the stack slot we pass.
        unsafe {
            asm!(concat!($insn, " qword ptr [{addr}]"), "pushfq", "pop {flags}",
                 addr = in(reg) &$operand as *const u64, flags = lateout(reg) rflags);
        }
        check(rflags)
    }};
}

/// VMXON with the VMXON region at `phys`.
///
/// # Safety
/// `phys` is a 4 KiB-aligned page holding the VMCS revision ID, used for nothing else while VMX is on;
/// CR0/CR4 satisfy the VMX fixed bits.
pub unsafe fn vmxon(phys: u64) -> Result<(), VmFail> {
    vmx_op!("vmxon", phys)
}

/// VMCLEAR of the VMCS at `phys`.
///
/// # Safety
/// `phys` is a VMCS region owned by the caller.
pub unsafe fn vmclear(phys: u64) -> Result<(), VmFail> {
    vmx_op!("vmclear", phys)
}

/// VMPTRLD of the VMCS at `phys`.
///
/// # Safety
/// `phys` is a VMCS region owned by the caller, initialized with the revision ID and cleared.
pub unsafe fn vmptrld(phys: u64) -> Result<(), VmFail> {
    vmx_op!("vmptrld", phys)
}

/// VMREAD of field `encoding` from the current VMCS (reading has no side effects).
#[inline]
pub fn vmread(encoding: u32) -> Result<u64, VmFail> {
    let value: u64;
    let rflags: u64;
    // SAFETY: VMREAD only reads the current VMCS into a register; outside VMX operation it raises #UD,
    // which the exception handler reports.
    unsafe {
        asm!("vmread {v}, {f}", "pushfq", "pop {flags}", f = in(reg) encoding as u64,
             v = lateout(reg) value, flags = lateout(reg) rflags);
    }
    const CF_OR_ZF: u64 = 1 | 1 << 6;
    if rflags & CF_OR_ZF != 0 {
        // Do not recurse through `check` for the error field itself.
        return Err(if rflags & 1 != 0 {
            VmFail::Invalid
        } else {
            VmFail::Valid(0)
        });
    }
    Ok(value)
}

/// VMWRITE of `value` to field `encoding` of the current VMCS.
///
/// # Safety
/// Host-state and address fields decide what the processor runs and writes: the caller makes them point
/// at memory and code that keep Rust's guarantees.
#[inline]
pub unsafe fn vmwrite(encoding: u32, value: u64) -> Result<(), VmFail> {
    let rflags: u64;
    // SAFETY: the caller upholds the field's contract; VMWRITE touches only the current VMCS.
    unsafe {
        asm!("vmwrite {f}, {v}", "pushfq", "pop {flags}", f = in(reg) encoding as u64,
             v = in(reg) value, flags = lateout(reg) rflags);
    }
    check(rflags)
}

/// INVEPT of `kind` (1 single-context, 2 all-context) for `eptp`.
///
/// # Safety
/// Only invalidates cached translations; the caller makes sure no stale EPT is relied upon.
pub unsafe fn invept(kind: u64, eptp: u64) -> Result<(), VmFail> {
    let descriptor: [u64; 2] = [eptp, 0];
    let rflags: u64;
    // SAFETY: INVEPT reads the 16-byte descriptor we pass and only drops cached translations.
    unsafe {
        asm!("invept {k}, [{d}]", "pushfq", "pop {flags}", k = in(reg) kind,
             d = in(reg) descriptor.as_ptr(), flags = lateout(reg) rflags);
    }
    check(rflags)
}
