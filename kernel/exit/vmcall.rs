//! VMCALL: Tessera's hypercall ABI (tessera-vmx `guest_abi`). Console writes are rate-limited per
//! vCPU (token bucket in TSC cycles) and printed whole lines at a time behind the partition's name.

use super::Flow;
use crate::vcpu::{shared, Vcpu};
use core::fmt::{self, Write};
use tessera_vmx::exit::{ExitCounters, ExitReason, StopReason};
use tessera_vmx::guest_abi::{
    console_buffer_offset, Hypercall, CONSOLE_WRITE_MAX_BYTES, ERROR_INVALID_ARGUMENT,
    ERROR_UNKNOWN_CALL, EXIT_COUNT_TOTAL,
};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let call = Hypercall::decode(vcpu.regs.rax, vcpu.regs.rbx, vcpu.regs.rcx);
    let result = match call {
        Hypercall::ConsoleWrite {
            guest_address,
            bytes,
        } => console_write(vcpu, guest_address, bytes),
        Hypercall::PrintExitCounts => {
            print_exit_counts(vcpu);
            0
        }
        Hypercall::ReadExitCount { reason } => read_exit_count(vcpu, reason),
        Hypercall::ReadDeniedIpis => shared::of(vcpu.index).denied_ipis(),
        Hypercall::Stop { status } => return Flow::Stop(StopReason::Requested { status }),
        Hypercall::Unknown { .. } => ERROR_UNKNOWN_CALL,
    };
    vcpu.regs.rax = result;
    vcpu.skip_instruction();
    Flow::Resume
}

/// Prints the vCPU's exit counters as one line, paid for from its console bucket like console
/// writes (a line the bucket cannot pay for whole is dropped), so repeating the call cannot flood
/// the serial console other partitions share.
fn print_exit_counts(vcpu: &mut Vcpu) {
    let line = ExitCountLine {
        partition: vcpu.name(),
        vcpu: vcpu.vcpu,
        counters: shared::of(vcpu.index).counters.lock().clone(),
    };
    let mut bytes = ByteCount(1); // the newline
    let _ = write!(bytes, "{line}");
    if vcpu
        .console_bucket
        .take_whole(tessera_arch::tsc_cycles(), bytes.0)
    {
        tessera_arch::println!("{line}");
    }
}

/// `[<partition>] vcpu <i> exits: ...`
struct ExitCountLine {
    partition: &'static str,
    vcpu: u16,
    counters: ExitCounters,
}

impl fmt::Display for ExitCountLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] vcpu {} {}",
            self.partition, self.vcpu, self.counters
        )
    }
}

/// Counts the bytes formatted into it.
struct ByteCount(u64);

impl fmt::Write for ByteCount {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len() as u64;
        Ok(())
    }
}

/// The count without the VMCALL being handled (already counted by the run loop).
fn read_exit_count(vcpu: &Vcpu, reason: u64) -> u64 {
    let counters = shared::of(vcpu.index).counters.lock().clone();
    if reason == EXIT_COUNT_TOTAL {
        return counters.total() - 1;
    }
    let Some(exit) = u16::try_from(reason).ok().and_then(ExitReason::from_number) else {
        return ERROR_INVALID_ARGUMENT;
    };
    counters.count(exit) - u64::from(exit == ExitReason::Vmcall)
}

fn console_write(vcpu: &mut Vcpu, guest_address: u64, bytes: u64) -> u64 {
    let memory = crate::plan::PLAN.partitions[vcpu.partition as usize].memory;
    let Some(offset) = console_buffer_offset(memory.guest_base, memory.bytes, guest_address, bytes)
    else {
        return ERROR_INVALID_ARGUMENT;
    };
    let granted = vcpu.console_bucket.take(tessera_arch::tsc_cycles(), bytes);
    let mut buffer = [0u8; CONSOLE_WRITE_MAX_BYTES as usize];
    let input = &mut buffer[..granted as usize];
    if vcpu.guest_memory.copy_out(offset as usize, input).is_none() {
        return ERROR_INVALID_ARGUMENT;
    }
    let name = vcpu.name();
    vcpu.console_line.push(input, |line| emit(name, line));
    granted
}

fn emit(name: &str, line: &[u8]) {
    let text = core::str::from_utf8(line).unwrap_or("<console line not UTF-8>");
    tessera_arch::println!("[{name}] {text}");
}

/// Prints the vCPU's unfinished console line (when it stops).
pub fn flush_console(vcpu: &mut Vcpu) {
    let name = vcpu.name();
    vcpu.console_line.flush(&mut |line: &[u8]| emit(name, line));
}
