//! EPT violation: the guest touched guest-physical memory outside its partition and granted MMIO.
//! The EPT maps nothing else, so every violation is a fault: the vCPU is stopped.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::exit::{EptViolation, StopReason};
use tessera_vmx::fields::Field64ReadOnly;

pub fn violation(vcpu: &mut Vcpu) -> Flow {
    let access = EptViolation::decode(super::qualification(vcpu));
    Flow::Stop(StopReason::EptViolation {
        guest_physical: vcpu.read(Field64ReadOnly::GuestPhysicalAddress.encoding()),
        access: access.access_name(),
    })
}
