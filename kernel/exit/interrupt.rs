//! External interrupt: with "acknowledge interrupt on exit" the host APIC has delivered it, so it is
//! retired with an EOI and the guest resumes. The only ones expected are kicks (`ipi::KICK_VECTOR`,
//! sent so a pending NMI gets injected at the next entry). Tessera's host takes no device interrupts; a
//! posted-interrupt notification that arrives in VMX root stays pending (host interrupts are off)
//! and is processed as a posted interrupt after the next VM entry, so it never comes here.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::exit::InterruptionInfo;
use tessera_vmx::fields::Field32ReadOnly;

pub fn external(vcpu: &mut Vcpu) -> Flow {
    let info = vcpu.read(Field32ReadOnly::ExitInterruptionInfo.encoding()) as u32;
    let info = InterruptionInfo::decode(info);
    tessera_arch::apic::eoi();
    log::debug!(
        "external interrupt vector {:#x} on vCPU {}",
        info.vector,
        vcpu.vcpu
    );
    Flow::Resume
}
