//! The local APIC in x2APIC mode (MSR access): enabling it, the APIC ID, and sending IPIs.

use crate::msr;
use tessera_vmx::msr::{
    APIC_BASE_ENABLE, APIC_BASE_X2APIC, IA32_APIC_BASE, X2APIC_EOI, X2APIC_ICR, X2APIC_ID,
    X2APIC_SVR,
};

/// SVR bit 8: APIC software enable.
const SVR_ENABLE: u64 = 1 << 8;
/// Vector reported for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// ICR delivery modes (bits 10:8).
pub const DELIVERY_FIXED: u64 = 0b000 << 8;
pub const DELIVERY_NMI: u64 = 0b100 << 8;
pub const DELIVERY_INIT: u64 = 0b101 << 8;
pub const DELIVERY_STARTUP: u64 = 0b110 << 8;
/// ICR bit 14: level assert (required for INIT and STARTUP).
pub const ICR_LEVEL_ASSERT: u64 = 1 << 14;

/// Why x2APIC mode could not be entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApicError {
    /// CPUID.01H:ECX bit 21 is clear.
    X2ApicNotSupported,
}

/// An x2APIC ICR value: fixed delivery of `vector` to physical APIC ID `dest`, edge triggered
/// (tessera-vmx's encoding, the one its ICR decoder reads back).
pub const fn icr_fixed(dest: u32, vector: u8) -> u64 {
    tessera_vmx::ipi::Icr::fixed_physical(dest, vector)
}

/// An x2APIC ICR value: INIT (assert) to `dest`.
pub const fn icr_init(dest: u32) -> u64 {
    ((dest as u64) << 32) | DELIVERY_INIT | ICR_LEVEL_ASSERT
}

/// An x2APIC ICR value: STARTUP to `dest`, starting it at physical page `start_page` (address / 4096).
pub const fn icr_startup(dest: u32, start_page: u8) -> u64 {
    ((dest as u64) << 32) | DELIVERY_STARTUP | ICR_LEVEL_ASSERT | start_page as u64
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

/// Writes `icr` to the x2APIC ICR, sending that IPI (built with `icr_*`).
pub fn send_ipi(icr: u64) {
    // SAFETY: an IPI has no effect on this CPU's memory; what the target does is the caller's protocol.
    unsafe { msr::write(X2APIC_ICR, icr) }
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
        assert_eq!(icr_fixed(3, 0x40), 0x0000_0003_0000_0040);
        assert_eq!(icr_init(1), 0x0000_0001_0000_4500);
        assert_eq!(icr_startup(2, 0x08), 0x0000_0002_0000_4608);
    }
}
