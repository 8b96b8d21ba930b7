//! CPUID: the guest's answer from tessera-vmx's table (features and what backs them, the virtual
//! APIC ID, XSAVE's leaf for the partition's components, Tessera's leaves, the timer's
//! frequencies), given the host's answers, the guest's CR4 and the controls in its VMCS.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::cpuid::xsave::partition_xcr0;
use tessera_vmx::cpuid::{emulate, GuestCpu, VcpuIdentity};
use tessera_vmx::fields::NaturalGuest;

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let (leaf, subleaf) = (vcpu.regs.rax as u32, vcpu.regs.rcx as u32);
    let plan_vcpu =
        &crate::plan::PLAN.partitions[vcpu.partition as usize].vcpus[vcpu.vcpu as usize];
    let controls = crate::vcpu::launch::controls().expect("set at boot");
    let guest = GuestCpu {
        vcpu: VcpuIdentity {
            virtual_apic_id: plan_vcpu.virtual_apic_id,
            vcpu_index: u32::from(vcpu.vcpu),
            partition_index: u32::from(vcpu.partition),
        },
        cr4: vcpu.read(NaturalGuest::Cr4.encoding()),
        secondary: controls.secondary,
        xcr0_allowed: partition_xcr0(tessera_arch::xcr::supported()),
        frequency: crate::vcpu::launch::timer_frequency().expect("set at boot"),
    };
    let r = emulate(leaf, subleaf, &tessera_arch::cpuid, &guest);
    vcpu.regs.rax = u64::from(r.eax);
    vcpu.regs.rbx = u64::from(r.ebx);
    vcpu.regs.rcx = u64::from(r.ecx);
    vcpu.regs.rdx = u64::from(r.edx);
    vcpu.skip_instruction();
    Flow::Resume
}
