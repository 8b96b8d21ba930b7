//! Test guest `hello`: each vCPU greets, then checks that the boot-info block, the x2APIC ID
//! register and CPUID agree on who it is, prints its exit counts and reports the result. vCPU 0
//! also starts, with INIT/SIPI, any vCPU of its partition that has not greeted after a while (one
//! the manifest leaves waiting; Tessera ignores INIT/SIPI to a vCPU that is not waiting).
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

use core::sync::atomic::{AtomicBool, Ordering};
use tessera_guest::console::Text;
use tessera_guest::guest_abi::ERROR_NO_CONSOLE;
use tessera_guest::layout::MAX_VCPUS;
use tessera_guest::{apic, cpu, fail, hypercall, println, time, BootInfo, PeerRoute, TestResult};

// Interrupts stay masked: the IDT needs the exception gates only.
tessera_guest::entry!(run, exceptions_only);

/// Tessera's identity leaf: EAX = vCPU index, EBX = partition index, ECX = virtual APIC ID.
const LEAF_TESSERA_IDENTITY: u32 = 0x4000_0001;
/// How long vCPU 0 waits for its siblings to greet before starting the missing ones, in TSC cycles.
const GREETING_WAIT_CYCLES: u64 = 100_000_000;

/// Which vCPUs of the partition have greeted.
static GREETED: [AtomicBool; MAX_VCPUS] = [const { AtomicBool::new(false) }; MAX_VCPUS];

fn run(info: &'static BootInfo) -> TestResult {
    let apic_id = apic::apic_id();
    println!(
        "hello from partition {} vcpu {} of {}, APIC ID {apic_id}",
        Text(info.name()),
        info.vcpu_index,
        info.vcpu_count
    );
    GREETED[info.vcpu_index as usize].store(true, Ordering::Release);
    if info.vcpu_index == 0 {
        start_silent_siblings(info);
    }
    if apic_id != info.virtual_apic_id {
        return fail!(
            "x2APIC ID register says {apic_id}, boot info {}",
            info.virtual_apic_id
        );
    }
    let [vcpu, partition, cpuid_apic_id, _] = cpu::cpuid(LEAF_TESSERA_IDENTITY, 0);
    let expected = [info.vcpu_index, info.partition_index, info.virtual_apic_id];
    if [vcpu, partition, cpuid_apic_id] != expected {
        return fail!(
            "CPUID identity leaf says vcpu {vcpu} partition {partition} APIC ID {cpuid_apic_id}, boot info vcpu {} partition {} APIC ID {}",
            expected[0],
            expected[1],
            expected[2]
        );
    }
    // A partition whose console is a device of its own has no hypervisor console to print on.
    match hypercall::print_exit_counts() {
        Ok(()) | Err(hypercall::HypercallError(ERROR_NO_CONSOLE)) => {}
        Err(_) => return fail!("the exit-count hypercall failed"),
    }
    Ok(())
}

/// Starts the vCPUs of the partition that have not greeted within `GREETING_WAIT_CYCLES`.
fn start_silent_siblings(info: &BootInfo) {
    let count = (info.vcpu_count as usize).min(MAX_VCPUS);
    let greeted = |v: usize| GREETED[v].load(Ordering::Acquire);
    time::wait_until(GREETING_WAIT_CYCLES, || (0..count).all(greeted));
    let own = |route: u32| route == PeerRoute::OwnPartition as u32;
    for peer in info.peers().iter().filter(|p| own(p.route)) {
        let vcpu = usize::from(peer.vcpu_index);
        if vcpu < count && !greeted(vcpu) {
            println!("starting vcpu {vcpu} (APIC ID {})", peer.virtual_apic_id);
            apic::start_vcpu(peer.virtual_apic_id);
        }
    }
}
