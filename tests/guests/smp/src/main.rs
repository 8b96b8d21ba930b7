//! Test guest `smp`: run with only vCPU 0 started at boot. vCPU 0 sends INIT and two start-up
//! IPIs to every other vCPU of its partition (from the boot-info peer list); each started vCPU
//! checks its identity, reports in and halts with interrupts on until vCPU 0's fixed IPI arrives
//! (through the guest IDT); vCPU 0 passes when all have reported in and seen their IPI.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

use core::sync::atomic::{AtomicU32, Ordering};
use tessera_guest::{apic, cpu, fail, idt, println, time, BootInfo, PeerRoute, TestResult};

tessera_guest::entry!(run);

/// vCPUs (other than the bootstrap one) that came up.
static STARTED: AtomicU32 = AtomicU32::new(0);
/// vCPUs (other than the bootstrap one) that took vCPU 0's IPI.
static WOKEN: AtomicU32 = AtomicU32::new(0);
/// The vector vCPU 0 sends to each started vCPU once all are up.
const WAKE_VECTOR: u8 = 0x41;
/// How long vCPU 0 waits for the others, in TSC cycles.
const START_TIMEOUT_CYCLES: u64 = 2_000_000_000;

fn run(info: &'static BootInfo) -> TestResult {
    let apic_id = apic::apic_id();
    println!(
        "vcpu {} of {} up in {}, APIC ID {apic_id}",
        info.vcpu_index,
        info.vcpu_count,
        info.name()
    );
    if apic_id != info.virtual_apic_id {
        return fail!("APIC ID {apic_id}, boot info says {}", info.virtual_apic_id);
    }
    if info.vcpu_index != 0 {
        return started(info);
    }
    bootstrap(info)
}

/// A vCPU vCPU 0 started: reports in, then halts until its IPI arrives.
fn started(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    STARTED.fetch_add(1, Ordering::AcqRel);
    while idt::arrivals(vcpu, WAKE_VECTOR) == 0 {
        cpu::enable_interrupts_and_halt();
    }
    cpu::disable_interrupts();
    println!("vcpu {vcpu}: IPI {WAKE_VECTOR:#x} arrived");
    WOKEN.fetch_add(1, Ordering::AcqRel);
    Ok(())
}

/// Starts every other vCPU of the partition and waits until all have reported in.
fn bootstrap(info: &BootInfo) -> TestResult {
    let own = |route: u32| route == PeerRoute::OwnPartition as u32;
    for peer in info
        .peers()
        .iter()
        .filter(|p| own(p.route) && p.vcpu_index != 0)
    {
        println!(
            "starting vcpu {} (APIC ID {})",
            peer.vcpu_index, peer.virtual_apic_id
        );
        apic::start_vcpu(peer.virtual_apic_id);
    }
    let others = info.vcpu_count - 1;
    let all_up = time::wait_until(START_TIMEOUT_CYCLES, || {
        STARTED.load(Ordering::Acquire) == others
    });
    let up = STARTED.load(Ordering::Acquire);
    if !all_up {
        return fail!("only {up} of {others} started vCPUs reported in");
    }
    println!("all {} vCPUs up", info.vcpu_count);
    for peer in info
        .peers()
        .iter()
        .filter(|p| own(p.route) && p.vcpu_index != 0)
    {
        apic::send_fixed(peer.virtual_apic_id, WAKE_VECTOR);
    }
    let all_woken = time::wait_until(START_TIMEOUT_CYCLES, || {
        WOKEN.load(Ordering::Acquire) == others
    });
    if !all_woken {
        let woken = WOKEN.load(Ordering::Acquire);
        return fail!("IPI {WAKE_VECTOR:#x} reached only {woken} of {others} vCPUs");
    }
    println!("IPI {WAKE_VECTOR:#x} reached all {others} started vCPUs");
    Ok(())
}
