//! Faults Tessera raises in a guest at its next entry, RIP left on the instruction that faulted
//! (as bare metal would), and the guest's privilege level they depend on.

use crate::vcpu::Vcpu;
use tessera_arch::vmx::fields::{EntryExceptionErrorCode, EntryInterruptionInfo};
use tessera_vmx::exit::{InterruptionInfo, InterruptionType};
use tessera_vmx::fields::Field32Guest as G32;

/// #UD (vector 6, no error code).
pub fn invalid_opcode(vcpu: &mut Vcpu) {
    let info = InterruptionInfo::inject(6, InterruptionType::HardwareException, false);
    vcpu.write(EntryInterruptionInfo, info);
}

/// #GP(0) (vector 13).
pub fn general_protection(vcpu: &mut Vcpu) {
    let info = InterruptionInfo::inject(13, InterruptionType::HardwareException, true);
    vcpu.write(EntryInterruptionInfo, info);
    vcpu.write(EntryExceptionErrorCode, 0);
}

/// The guest's current privilege level: SS.DPL (SDM Vol. 3C 28.3.1.1: the VMCS keeps CPL there).
pub fn cpl(vcpu: &Vcpu) -> u8 {
    ((vcpu.read(G32::SsAccessRights.encoding()) >> 5) & 3) as u8
}
