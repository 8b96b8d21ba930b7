//! Tessera's hypercalls as safe functions (numbers and registers from `tessera_vmx::guest_abi`).

use crate::cpu::vmcall;
use tessera_vmx::exit::ExitReason;
use tessera_vmx::guest_abi::{
    is_error, CONSOLE_WRITE_MAX_BYTES, EXIT_COUNTER_ENTRIES, EXIT_COUNT_TOTAL,
    HYPERCALL_CONSOLE_FACT, HYPERCALL_CONSOLE_WRITE, HYPERCALL_PRINT_EXIT_COUNTS,
    HYPERCALL_READ_DENIED_IPIS, HYPERCALL_READ_EXIT_COUNT, HYPERCALL_STOP,
};

/// Every exit counter of a vCPU: entry `r` = basic exit reason `r`, the last one unknown reasons.
pub type ExitCounters = [u64; EXIT_COUNTER_ENTRIES as usize];

/// A hypercall returned an error code (RAX >= `ERROR_FIRST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HypercallError(pub u64);

fn checked(result: u64) -> Result<u64, HypercallError> {
    if is_error(result) {
        Err(HypercallError(result))
    } else {
        Ok(result)
    }
}

/// Writes at most [`CONSOLE_WRITE_MAX_BYTES`] of `bytes`; returns how many the hypervisor took
/// (fewer, possibly zero, when this partition's console is rate-limited).
pub fn console_write(bytes: &[u8]) -> Result<usize, HypercallError> {
    let length = bytes.len().min(CONSOLE_WRITE_MAX_BYTES as usize);
    let taken = checked(vmcall(
        HYPERCALL_CONSOLE_WRITE,
        bytes.as_ptr() as u64,
        length as u64,
        0,
    ))?;
    Ok(taken as usize)
}

/// Asks the hypervisor to print this vCPU's exit counters (one `exits: ...` line).
pub fn print_exit_counts() -> Result<(), HypercallError> {
    checked(vmcall(HYPERCALL_PRINT_EXIT_COUNTS, 0, 0, 0)).map(|_| ())
}

/// This vCPU's exits with basic reason `reason` so far (not counting this call).
pub fn exit_count(reason: ExitReason) -> Result<u64, HypercallError> {
    checked(vmcall(HYPERCALL_READ_EXIT_COUNT, reason as u64, 0, 0))
}

/// This vCPU's exits over every reason so far (not counting this call).
pub fn total_exits() -> Result<u64, HypercallError> {
    checked(vmcall(HYPERCALL_READ_EXIT_COUNT, EXIT_COUNT_TOTAL, 0, 0))
}

/// This vCPU's exit counters, all in one call (which is not counted in them).
pub fn exit_counters() -> Result<ExitCounters, HypercallError> {
    let mut counters = [0u64; EXIT_COUNTER_ENTRIES as usize];
    checked(crate::cpu::vmcall_exit_counters(
        &mut counters,
        0,
        EXIT_COUNTER_ENTRIES,
    ))?;
    Ok(counters)
}

/// IPIs this vCPU sent that the hypervisor dropped (no route, or a vector a trapped route denies).
pub fn denied_ipis() -> Result<u64, HypercallError> {
    checked(vmcall(HYPERCALL_READ_DENIED_IPIS, 0, 0, 0))
}

/// One fact about the console (`tessera_vmx::guest_abi::CONSOLE_FACT_*`: its pace, the longest a
/// write waits, this vCPU's refused bytes, ...).
pub fn console_fact(which: u64) -> Result<u64, HypercallError> {
    checked(vmcall(HYPERCALL_CONSOLE_FACT, which, 0, 0))
}

/// Stops this vCPU for good with `status` (0 = success).
pub fn stop(status: u64) -> ! {
    vmcall(HYPERCALL_STOP, status, 0, 0);
    // The hypervisor never resumes a stopped vCPU; if it did, stay idle.
    loop {
        crate::cpu::disable_interrupts();
        crate::cpu::halt();
    }
}
