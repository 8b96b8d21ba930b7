//! Which path this run's IPIs take: a fixed IPI to the vCPU's own APIC ID (physical, no
//! shorthand) stays in the guest under IPIv and takes one WRMSR exit without it.

use crate::wait::{self, Wait};
use tessera_guest::exits::Meter;
use tessera_guest::{apic, cpu, fail, idt, Failure};

/// The vector of the probe.
pub const PROBE_VECTOR: u8 = 0x20;

/// `on` or `off`, as measured.
pub fn ipiv_name(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Sends the probe to this vCPU and says whether it stayed in the guest (IPIv on).
pub fn ipiv_on(vcpu: usize) -> Result<bool, Failure> {
    let seen = idt::arrivals(vcpu, PROBE_VECTOR);
    let meter = Meter::start()?;
    apic::send_fixed(apic::apic_id(), PROBE_VECTOR);
    let exits = meter.stop()?;
    let arrived = wait::arrival(vcpu, PROBE_VECTOR, seen, Wait::Poll);
    cpu::disable_interrupts();
    if !arrived {
        return fail!("the self-addressed probe IPI {PROBE_VECTOR:#x} did not arrive");
    }
    match exits.sends() {
        0 => Ok(true),
        1 => Ok(false),
        n => fail!("the probe IPI took {n} exits"),
    }
}
