//! VMCALL: Tessera's hypercall ABI (tessera-vmx `guest_abi`). Console writes are rate-limited per
//! vCPU (token bucket in TSC cycles) and printed whole lines at a time behind the partition's name.

use super::Flow;
use crate::vcpu::{shared, Vcpu};
use tessera_vmx::exit::{ExitReason, StopReason};
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
            let counters = shared::of(vcpu.index).counters.lock().clone();
            tessera_arch::println!("[{}] vcpu {} {counters}", vcpu.name(), vcpu.vcpu);
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
