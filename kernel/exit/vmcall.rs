//! VMCALL: Tessera's hypercall ABI (tessera-vmx `guest_abi`). Console writes are paid, wire bytes
//! included, from the partition's share of the console (`crate::console`) and printed whole lines
//! at a time behind the partition's name (a partition whose console is a device of its own gets
//! `ERROR_NO_CONSOLE`). Only the guest's kernel may call: a VMCALL above CPL 0
//! raises #UD, so a guest's user space cannot talk to the hypervisor.

use super::{inject, Flow};
use crate::console;
use crate::vcpu::{shared, Vcpu};
use core::fmt::{self, Write};
use tessera_vmx::console::budget::LINE_MAX_WIRE_BYTES;
use tessera_vmx::exit::{ExitReason, StopReason};
use tessera_vmx::guest_abi::{
    console_buffer_offset, counter_buffer_offset, Hypercall, CONSOLE_FACT_CYCLES_PER_BYTE,
    CONSOLE_FACT_DROPPED_BYTES, CONSOLE_FACT_LINE_MAX_BYTES, CONSOLE_FACT_REFILL_CYCLES_PER_BYTE,
    CONSOLE_FACT_WAIT_BOUND_BYTES, CONSOLE_FACT_WAIT_BOUND_CYCLES, CONSOLE_WRITE_MAX_BYTES,
    ERROR_INVALID_ARGUMENT, ERROR_NO_CONSOLE, ERROR_UNKNOWN_CALL, EXIT_COUNT_TOTAL,
};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    if inject::cpl(vcpu) != 0 {
        inject::invalid_opcode(vcpu);
        return Flow::Resume;
    }
    let call = Hypercall::decode(vcpu.regs.rax, vcpu.regs.rbx, vcpu.regs.rcx);
    let result = match call {
        // Calls that print: none for a partition whose console is a device of its own.
        Hypercall::ConsoleWrite { .. } | Hypercall::PrintExitCounts
            if !console::prints_for(vcpu.partition) =>
        {
            ERROR_NO_CONSOLE
        }
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
        Hypercall::ConsoleFact { which } => console_fact(vcpu, which),
        Hypercall::ReadExitCounters {
            guest_address,
            entries,
        } => read_exit_counters(vcpu, guest_address, entries),
        Hypercall::Unknown { .. } => ERROR_UNKNOWN_CALL,
    };
    vcpu.regs.rax = result;
    vcpu.skip_instruction();
    Flow::Resume
}

/// Prints the vCPU's exit counters as one line, paid for from its partition's console share like
/// console writes (a line it cannot pay for whole is dropped and counted), so repeating the call
/// cannot flood the serial console other partitions share. The line is cut at the longest line
/// the console's wait bound allows. Not inlined (nor the other calls that copy buffers): the run
/// loop's frame, on the host stack, stays small.
#[inline(never)]
fn print_exit_counts(vcpu: &mut Vcpu) {
    let mut text: heapless::String<{ LINE_MAX_WIRE_BYTES as usize - 1 }> = heapless::String::new();
    // `[<partition>] vcpu <i> exits: ...`, in one formatting level (the host stack is sized from
    // measured depth).
    let (name, counters) = (vcpu.name(), &vcpu.record.counters);
    let _ = write!(
        Truncating(&mut text),
        "[{name}] vcpu {} {counters}",
        vcpu.vcpu
    );
    let bytes = text.len() as u64 + 1; // and the newline
    if console::take_whole(vcpu.partition, bytes) {
        shared::of(vcpu.index).count_console(bytes, 0);
        tessera_arch::println!("{text}");
    } else {
        shared::of(vcpu.index).count_console(0, bytes);
    }
}

/// Keeps what fits of the text formatted into it (the rest is cut, whole characters only).
struct Truncating<'a, const N: usize>(&'a mut heapless::String<N>);

impl<const N: usize> fmt::Write for Truncating<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

/// One `CONSOLE_FACT_*` value.
fn console_fact(vcpu: &Vcpu, which: u64) -> u64 {
    match which {
        CONSOLE_FACT_CYCLES_PER_BYTE => console::cycles_per_byte(),
        CONSOLE_FACT_LINE_MAX_BYTES => LINE_MAX_WIRE_BYTES,
        CONSOLE_FACT_WAIT_BOUND_BYTES => console::wait_bound().bytes,
        CONSOLE_FACT_WAIT_BOUND_CYCLES => console::wait_bound().cycles,
        CONSOLE_FACT_DROPPED_BYTES => shared::of(vcpu.index).console_bytes().1,
        CONSOLE_FACT_REFILL_CYCLES_PER_BYTE => console::refill_cycles_per_byte(vcpu.partition),
        _ => ERROR_INVALID_ARGUMENT,
    }
}

/// The count without the VMCALL being handled (already counted by the run loop).
fn read_exit_count(vcpu: &Vcpu, reason: u64) -> u64 {
    let counters = &vcpu.record.counters;
    if reason == EXIT_COUNT_TOTAL {
        return counters.total() - 1;
    }
    let Some(exit) = u16::try_from(reason).ok().and_then(ExitReason::from_number) else {
        return ERROR_INVALID_ARGUMENT;
    };
    counters.count(exit) - u64::from(exit == ExitReason::Vmcall)
}

/// Copies every counter (less this VMCALL) into the guest's array, one entry at a time (the whole
/// array lies in the partition's memory, checked first); returns the entries written.
#[inline(never)]
fn read_exit_counters(vcpu: &Vcpu, guest_address: u64, entries: u64) -> u64 {
    let memory = crate::plan::PLAN.partitions[vcpu.partition as usize].memory;
    let Some(offset) =
        counter_buffer_offset(memory.guest_base, memory.bytes, guest_address, entries)
    else {
        return ERROR_INVALID_ARGUMENT;
    };
    for i in 0..entries as usize {
        let count = vcpu.record.counters.entry(i) - u64::from(i == ExitReason::Vmcall as usize);
        let at = offset as usize + 8 * i;
        if vcpu
            .guest_memory
            .copy_in(at, &count.to_le_bytes())
            .is_none()
        {
            return ERROR_INVALID_ARGUMENT;
        }
    }
    entries
}

#[inline(never)]
fn console_write(vcpu: &mut Vcpu, guest_address: u64, bytes: u64) -> u64 {
    let memory = crate::plan::PLAN.partitions[vcpu.partition as usize].memory;
    let Some(offset) = console_buffer_offset(memory.guest_base, memory.bytes, guest_address, bytes)
    else {
        return ERROR_INVALID_ARGUMENT;
    };
    let mut buffer = [0u8; CONSOLE_WRITE_MAX_BYTES as usize];
    let input = &mut buffer[..bytes as usize];
    if vcpu.guest_memory.copy_out(offset as usize, input).is_none() {
        return ERROR_INVALID_ARGUMENT;
    }
    let grant = console::take(vcpu.partition, &vcpu.record.console_line, input);
    let dropped = (input.len() - grant.bytes) as u64;
    shared::of(vcpu.index).count_console(grant.bytes as u64, dropped);
    let name = vcpu.name();
    vcpu.record
        .console_line
        .push(&input[..grant.bytes], |line| console::emit(name, line));
    grant.bytes as u64
}

/// Prints the vCPU's unfinished console line (when it stops; its newline was paid for).
pub fn flush_console(vcpu: &mut Vcpu) {
    let name = vcpu.name();
    vcpu.record
        .console_line
        .flush(&mut |line: &[u8]| console::emit(name, line));
}
