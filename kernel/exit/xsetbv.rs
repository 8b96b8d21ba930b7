//! XSETBV (always exits): the value is checked against the XCR0 components the partition may
//! enable and the architectural rules (tessera_vmx::cpuid::xsave) and loaded into the CPU's XCR0,
//! which stays the guest's (the hypervisor uses no extended state); a bad value raises #GP(0).

use super::{inject, Flow};
use crate::vcpu::Vcpu;
use tessera_vmx::cpuid::xsave::{check_xsetbv, partition_xcr0};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let value = (vcpu.regs.rdx << 32) | (vcpu.regs.rax & 0xFFFF_FFFF);
    let index = vcpu.regs.rcx as u32;
    let allowed = partition_xcr0(tessera_arch::xcr::supported());
    let checked = check_xsetbv(inject::cpl(vcpu), index, value, allowed);
    match checked.map(tessera_arch::xcr::load) {
        Ok(Ok(())) => vcpu.skip_instruction(),
        _ => inject::general_protection(vcpu),
    }
    Flow::Resume
}
