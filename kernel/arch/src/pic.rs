//! The legacy 8259 PICs: masked at boot, so only the local APIC delivers interrupts (the firmware
//! leaves the PIT timer unmasked, which would otherwise reach guests as external-interrupt exits).

use x86_64::instructions::port::Port;

/// Data ports (interrupt mask registers) of the master and slave PIC.
const PIC_MASTER_DATA: u16 = 0x21;
const PIC_SLAVE_DATA: u16 = 0xA1;

/// Masks every line of both PICs.
pub fn mask_all() {
    for port in [PIC_MASTER_DATA, PIC_SLAVE_DATA] {
        // SAFETY: writing the PIC mask registers only stops legacy interrupt lines; no memory effects.
        unsafe { Port::<u8>::new(port).write(0xFF) }
    }
}
