//! Whether IPIv is on, measured: a fixed IPI to this vCPU's own APIC ID stays in the guest only
//! with it (the interrupt is left pending, masked, and taken at the next halt: one spurious
//! wake-up).

use tessera_guest::exits::Meter;
use tessera_guest::{apic, cpu, Failure};

/// Sends the probe and says whether it cost no exit.
pub fn on() -> Result<bool, Failure> {
    let meter = Meter::start()?;
    apic::send_fixed(apic::apic_id(), 0x21);
    let exits = meter.stop()?;
    cpu::enable_interrupts();
    cpu::disable_interrupts();
    Ok(exits.sends() == 0)
}

/// `on` / `off`.
pub fn name(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
