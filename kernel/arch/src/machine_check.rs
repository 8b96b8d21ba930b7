//! The machine-check registers after a machine check the processor reported as a VM exit: read
//! IA32_MCG_STATUS and every bank's IA32_MCi_STATUS, then end the machine check (MCIP cleared, so
//! a later one is reported instead of shutting the processor down).

use crate::msr;
use tessera_vmx::exit::machine_check::{bank_count, MachineCheckReport};
use tessera_vmx::msr::{IA32_MC0_STATUS, IA32_MCG_CAP, IA32_MCG_STATUS};

/// CPUID.01H:EDX bit 14: the processor has IA32_MCG_CAP and the banks.
fn has_mca() -> bool {
    crate::cpuid(1, 0).edx & (1 << 14) != 0
}

/// What the machine-check registers hold; `None` on a processor without machine-check
/// architecture (nothing to read).
pub fn report() -> Option<MachineCheckReport> {
    if !has_mca() {
        return None;
    }
    let banks = bank_count(msr::read(IA32_MCG_CAP));
    let statuses = (0..u32::from(banks)).map(|bank| msr::read(IA32_MC0_STATUS + 4 * bank));
    Some(MachineCheckReport::new(
        msr::read(IA32_MCG_STATUS),
        statuses,
    ))
}

/// Ends the machine check being handled: MCG_STATUS.MCIP (and RIPV, EIPV) cleared.
pub fn end() {
    if has_mca() {
        // SAFETY: IA32_MCG_STATUS only records machine-check state; clearing it changes no memory
        // access (SDM Vol. 3B 17.3.1.2: software clears MCIP when it has handled the event).
        unsafe { msr::write(IA32_MCG_STATUS, 0) };
    }
}
