//! Partition `counters`: the exit-counters hypercall (the one hypercall that writes guest memory)
//! aimed where it must not write: more entries than there are, a misaligned array, arrays past the
//! end of the partition's memory and far beyond it. Each must be refused with nothing written
//! (the buffer's sentinels stay); then one good call must fill the array.

use tessera_guest::cpu::{vmcall_exit_counters, vmcall_exit_counters_outside};
use tessera_guest::exits::{self, ExitReason};
use tessera_guest::hypercall::exit_counters;
use tessera_guest::{fail, println, BootInfo, TestResult};

/// What the hypervisor answers an argument it refuses (`tessera_vmx::guest_abi`).
const ERROR_INVALID_ARGUMENT: u64 = u64::MAX - 1;
const ENTRIES: u64 = exits::ENTRIES as u64;
const SENTINEL: u64 = 0x5EE5_5EE5_5EE5_5EE5;
const VMCALL: usize = ExitReason::Vmcall as usize;

pub fn attack(info: &BootInfo) -> TestResult {
    let mut buffer = [SENTINEL; 2 * ENTRIES as usize];
    let own_cases: [(&str, usize, u64); 2] = [
        ("one entry more than there are", 0, ENTRIES + 1),
        ("a misaligned array", 4, ENTRIES),
    ];
    for (what, offset, entries) in own_cases {
        refused(what, vmcall_exit_counters(&mut buffer, offset, entries))?;
    }
    if buffer.iter().any(|&w| w != SENTINEL) {
        return fail!("a refused exit-counters call wrote into the buffer");
    }
    let end = info.memory_guest_base + info.memory_bytes;
    let outside_cases = [
        ("the first bytes past the partition", end, ENTRIES),
        ("far beyond the partition", 0xFFFF_F000_0000_0000, ENTRIES),
    ];
    for (what, address, entries) in outside_cases {
        refused(what, vmcall_exit_counters_outside(info, address, entries))?;
    }
    let counters = match exit_counters() {
        Ok(counters) => counters,
        Err(e) => return fail!("a good exit-counters call failed: {e:?}"),
    };
    if counters[VMCALL] < 4 {
        return fail!(
            "the counters show {} VMCALLs after four hypercalls",
            counters[VMCALL]
        );
    }
    println!("vcpu 0: 4 bad exit-counter arrays refused, nothing written; a good one filled");
    Ok(())
}

fn refused(what: &str, result: u64) -> TestResult {
    if result != ERROR_INVALID_ARGUMENT {
        return fail!(
            "exit counters into {what}: the hypervisor answered {result:#x}, not invalid argument"
        );
    }
    println!("vcpu 0: exit counters into {what}: refused");
    Ok(())
}
