//! CPUID: the host's answer, adjusted by tessera-vmx (virtual APIC ID, VMX hidden, Tessera's leaves,
//! the timer's frequencies).

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::cpuid::{emulate, timer_leaf, VcpuIdentity};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let (leaf, subleaf) = (vcpu.regs.rax as u32, vcpu.regs.rcx as u32);
    let host = tessera_arch::cpuid(leaf, subleaf);
    let plan_vcpu =
        &crate::plan::PLAN.partitions[vcpu.partition as usize].vcpus[vcpu.vcpu as usize];
    let identity = VcpuIdentity {
        virtual_apic_id: plan_vcpu.virtual_apic_id,
        vcpu_index: u32::from(vcpu.vcpu),
        partition_index: u32::from(vcpu.partition),
    };
    let frequency = crate::vcpu::launch::timer_frequency().expect("set at boot");
    let r = timer_leaf(leaf, host, &frequency).unwrap_or_else(|| emulate(leaf, host, &identity));
    vcpu.regs.rax = u64::from(r.eax);
    vcpu.regs.rbx = u64::from(r.ebx);
    vcpu.regs.rcx = u64::from(r.ecx);
    vcpu.regs.rdx = u64::from(r.edx);
    vcpu.skip_instruction();
    Flow::Resume
}
