//! Test guest `hello`: each vCPU greets, then checks that the boot-info block, the x2APIC ID
//! register and CPUID agree on who it is, prints its exit counts and reports the result.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

use tessera_guest::{apic, cpu, fail, hypercall, println, BootInfo, TestResult};

tessera_guest::entry!(run);

/// Tessera's identity leaf: EAX = vCPU index, EBX = partition index, ECX = virtual APIC ID.
const LEAF_TESSERA_IDENTITY: u32 = 0x4000_0001;

fn run(info: &'static BootInfo) -> TestResult {
    let apic_id = apic::apic_id();
    println!(
        "hello from partition {} vcpu {} of {}, APIC ID {apic_id}",
        info.name(),
        info.vcpu_index,
        info.vcpu_count
    );
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
            "CPUID identity leaf says vcpu {vcpu} partition {partition} APIC ID {cpuid_apic_id}, boot info {expected:?}"
        );
    }
    if hypercall::print_exit_counts().is_err() {
        return fail!("the exit-count hypercall failed");
    }
    Ok(())
}
