//! RDMSR/WRMSR that exited (the MSR bitmap passes only the virtualized x2APIC accesses, and the ICR
//! with IPIv). tessera-vmx's MSR policy decides: emulate from the VMCS or virtual-APIC page, send an
//! IPI, program the vCPU's timer, inject #GP where bare metal would, or stop the vCPU for an MSR its
//! partition was not granted.

use super::{inject, Flow};
use crate::vcpu::Vcpu;
use tessera_vmx::exit::StopReason;
use tessera_vmx::fields::Field64Guest;
use tessera_vmx::msr_policy::{needs_guest_efer, on_rdmsr, on_wrmsr, MsrAction, MsrContext};

pub fn rdmsr(vcpu: &mut Vcpu) -> Flow {
    let msr = vcpu.regs.rcx as u32;
    let action = on_rdmsr(msr, &context(vcpu, msr, false));
    apply(vcpu, msr, false, action)
}

pub fn wrmsr(vcpu: &mut Vcpu) -> Flow {
    let msr = vcpu.regs.rcx as u32;
    let value = (vcpu.regs.rdx << 32) | (vcpu.regs.rax & 0xFFFF_FFFF);
    let action = on_wrmsr(msr, value, &context(vcpu, msr, true));
    apply(vcpu, msr, true, action)
}

/// The policy's context for an access to `msr`: the guest's EFER is read (one VMREAD) only for
/// the one access whose decision depends on it, a WRMSR of IA32_EFER.
fn context(vcpu: &Vcpu, msr: u32, write: bool) -> MsrContext {
    let guest_efer = match needs_guest_efer(msr, write) {
        true => vcpu.read(Field64Guest::Ia32Efer.encoding()),
        false => 0,
    };
    MsrContext {
        vcpu_index: u32::from(vcpu.vcpu),
        guest_efer,
    }
}

fn apply(vcpu: &mut Vcpu, msr: u32, write: bool, action: MsrAction) -> Flow {
    match action {
        MsrAction::Read(value) => set_result(vcpu, value),
        MsrAction::ReadGuestField { encoding } => {
            let value = vcpu.read(encoding);
            set_result(vcpu, value);
        }
        MsrAction::WriteGuestField { encoding, value } => vcpu.write_guest_state(encoding, value),
        MsrAction::WriteVirtualApic { offset, value } => {
            vcpu.virtual_apic.write_u32(usize::from(offset), value)
        }
        // The notification goes out before the WRMSR is completed (RIP, interruptibility): the
        // guest sees both only at its next entry, and the receiver's CPU starts on the interrupt
        // while this one finishes the exit.
        MsrAction::SendIpi(icr) => {
            vcpu.virtual_apic.set_icr(icr);
            let flow = super::ipi::send(vcpu, icr);
            vcpu.skip_instruction();
            return flow;
        }
        MsrAction::Timer(access) => {
            if let Some(value) = crate::vcpu::timer::access(vcpu, access) {
                set_result(vcpu, value);
            }
        }
        MsrAction::Ignore => {}
        MsrAction::InjectGp => {
            inject::general_protection(vcpu);
            return Flow::Resume;
        }
        MsrAction::Deny => return Flow::Stop(StopReason::DeniedMsr { msr, write }),
    }
    vcpu.skip_instruction();
    Flow::Resume
}

fn set_result(vcpu: &mut Vcpu, value: u64) {
    vcpu.regs.rax = value & 0xFFFF_FFFF;
    vcpu.regs.rdx = value >> 32;
}
