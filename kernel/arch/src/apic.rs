//! The local APIC in x2APIC mode (MSR access): enabling it, the APIC ID, and sending fixed IPIs.
//! Only fixed IPIs can be sent from here: INIT and start-up IPIs are sent by the CPU start-up code
//! alone (`smp.rs`, which writes the ICR itself).

use crate::msr;
use tessera_vmx::msr::{
    APIC_BASE_ENABLE, APIC_BASE_X2APIC, IA32_APIC_BASE, X2APIC_EOI, X2APIC_ICR, X2APIC_ID,
    X2APIC_SVR,
};

/// SVR bit 8: APIC software enable.
const SVR_ENABLE: u64 = 1 << 8;
/// Vector reported for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// Why x2APIC mode could not be entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApicError {
    /// CPUID.01H:ECX bit 21 is clear.
    X2ApicNotSupported,
}

impl core::fmt::Display for ApicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ApicError::X2ApicNotSupported => {
                f.write_str("the CPU has no x2APIC (CPUID.01H:ECX bit 21 is clear)")
            }
        }
    }
}

/// An x2APIC ICR value with fixed delivery, physical destination, edge triggered: the only IPI
/// `send_ipi` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedIcr(u64);

impl FixedIcr {
    /// The 64-bit ICR value.
    pub const fn value(self) -> u64 {
        self.0
    }
}

/// Fixed delivery of `vector` to physical APIC ID `dest` (tessera-vmx's encoding, the one its
/// ICR decoder reads back).
#[inline]
pub const fn icr_fixed(dest: u32, vector: u8) -> FixedIcr {
    FixedIcr(tessera_vmx::ipi::Icr::fixed_physical(dest, vector))
}

/// Whether CPUID reports x2APIC support.
pub fn x2apic_supported() -> bool {
    crate::cpuid(1, 0).ecx & (1 << 21) != 0
}

/// Puts the calling CPU's local APIC in x2APIC mode and software-enables it.
pub fn enable_x2apic() -> Result<(), ApicError> {
    if !x2apic_supported() {
        return Err(ApicError::X2ApicNotSupported);
    }
    let base = msr::read(IA32_APIC_BASE);
    // SAFETY: setting EN then EXTD is the architectural way into x2APIC mode (SDM 11.12.1); the APIC's
    // MMIO page is not used by Tessera afterwards.
    unsafe {
        msr::write(IA32_APIC_BASE, base | APIC_BASE_ENABLE);
        msr::write(IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
        msr::write(X2APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR as u64);
    }
    Ok(())
}

/// Whether the calling CPU's local APIC is in x2APIC mode (IA32_APIC_BASE bit 10).
pub fn x2apic_enabled() -> bool {
    msr::read(IA32_APIC_BASE) & APIC_BASE_X2APIC != 0
}

/// The calling CPU's initial APIC ID as CPUID.01H:EBX[31:24] reports it (xAPIC, 8 bits).
pub fn initial_apic_id() -> u32 {
    crate::cpuid(1, 0).ebx >> 24
}

/// The calling CPU's x2APIC ID (x2APIC mode must be on).
pub fn apic_id() -> u32 {
    msr::read(X2APIC_ID) as u32
}

/// Writes `icr` to the x2APIC ICR, sending that fixed IPI.
#[inline]
pub fn send_ipi(icr: FixedIcr) {
    // SAFETY: a fixed interrupt has no effect on this CPU's memory; the target's handler (an EOI,
    // or a posted-interrupt notification the processor consumes) is the caller's protocol.
    unsafe { msr::write(X2APIC_ICR, icr.0) }
}

/// Signals end of interrupt to the local APIC.
pub fn eoi() {
    // SAFETY: an EOI write only retires the in-service interrupt.
    unsafe { msr::write(X2APIC_EOI, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icr_values_match_sdm_layout() {
        assert_eq!(icr_fixed(3, 0x40).value(), 0x0000_0003_0000_0040);
        assert_eq!(icr_fixed(0xFFFF_FFFF, 0xF2).value(), 0xFFFF_FFFF_0000_00F2);
    }
}
