//! The `stepper` partition of scenario `entry-state`: instructions the hypervisor completes for the
//! guest (CPUID, VMCALL) right after MOV SS or STI, as a debugger single-stepping through a
//! unikernel makes them. The hypervisor must end the shadow with the instruction and, with
//! RFLAGS.TF set, leave the single-step trap pending, so the #DB (and a waiting interrupt) arrives
//! right after the instruction, as on bare metal, and the vCPU's next VM entry is valid.

use tessera_guest::exits::ExitReason;
use tessera_guest::guest_abi::HYPERCALL_READ_DENIED_IPIS;
use tessera_guest::{apic, cpu, fail, hypercall, idt, println, time, BootInfo, TestResult};

/// #DB.
const DEBUG_VECTOR: u8 = 1;
/// The interrupt that waits for STI's shadow to end.
const WAITING_VECTOR: u8 = 0x51;
/// TSC cycles a self-IPI is given to become pending (it is posted, then recognized).
const POST_CYCLES: u64 = 200_000;

pub fn run(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    idt::count_exceptions(true);
    let cpuid_exits = exits(ExitReason::Cpuid)?;
    idt::start_log(vcpu);
    let after = cpu::single_step_mov_ss_cpuid();
    expect_first(vcpu, "TF; mov ss; cpuid", (DEBUG_VECTOR, after))?;
    if exits(ExitReason::Cpuid)? != cpuid_exits + 1 {
        return fail!("CPUID did not exit once: the case did not test the hypervisor");
    }
    idt::start_log(vcpu);
    let (after, denied) = cpu::single_step_mov_ss_vmcall(HYPERCALL_READ_DENIED_IPIS);
    expect_first(vcpu, "TF; mov ss; vmcall", (DEBUG_VECTOR, after))?;
    if denied != 0 {
        return fail!("the stepped hypercall returned {denied:#x}, not 0 denied IPIs");
    }
    idt::count_exceptions(false);
    idt::start_log(vcpu);
    apic::send_fixed(info.virtual_apic_id, WAITING_VECTOR);
    time::delay(POST_CYCLES);
    let after = cpu::sti_shadow_cpuid();
    expect_first(vcpu, "sti; cpuid", (WAITING_VECTOR, after))?;
    Ok(())
}

/// Fails unless the first event logged since `idt::start_log` is `expected` (vector, RIP).
fn expect_first(vcpu: usize, case: &str, expected: (u8, u64)) -> TestResult {
    let events = idt::logged_events(vcpu);
    match idt::logged_event(vcpu, 0) {
        Some(first) if first == expected => {
            println!(
                "{case}: vector {} arrived at {:#x}, right after the exiting instruction ({events} events)",
                expected.0, expected.1
            );
            Ok(())
        }
        Some((vector, rip)) => fail!(
            "{case}: first event vector {vector} at {rip:#x}, expected vector {} at {:#x}",
            expected.0,
            expected.1
        ),
        None => fail!("{case}: no event arrived (expected vector {})", expected.0),
    }
}

fn exits(reason: ExitReason) -> Result<u64, tessera_guest::Failure> {
    hypercall::exit_count(reason)
        .map_err(|e| tessera_guest::Failure::new(format_args!("exit count: {e:?}")))
}
