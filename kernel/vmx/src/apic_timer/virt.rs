//! Which path serves a vCPU's timer when the CPU offers APIC-timer virtualization (tertiary
//! control bit 8; apic-timer-virt.md): the processor's guest timer handles TSC-deadline mode with
//! an unmasked, legal vector, with no exit to arm or to expire; everything else (one-shot and
//! periodic modes, a masked LVT, an illegal vector, a software-disabled APIC) stays on the trapped
//! path, because the processor reads neither the LVT's mode nor its mask. The hypervisor switches
//! paths only on the writes that exit anyway: the LVT timer entry and the SVR.

use super::registers::{Lvt, TimerMode};

/// The virtual timer vector for `lvt` when the guest timer may serve it, else `None`.
pub const fn virtualized_vector(lvt: Lvt) -> Option<u8> {
    match lvt.mode() {
        TimerMode::TscDeadline => lvt.delivered_vector(),
        _ => None,
    }
}

/// The deadline a vCPU's VMCS holds after an exit, in the guest's TSC (Tessera sets no TSC offset
/// or multiplier, so the guest's TSC is the host's): the shadow while the guest deadline field is
/// armed, 0 when it is not (the timer fired, with its vector already in VIRR, or was written 0).
/// A deadline that passed while the CPU was in VMX root is still armed here (the processor never
/// fires it outside non-root operation) and is delivered by whichever path takes it over.
pub const fn armed_deadline(guest_deadline_field: u64, shadow: u64) -> u64 {
    if guest_deadline_field == 0 {
        0
    } else {
        shadow
    }
}

/// The three VMCS values that hand a deadline of the guest's TSC to the processor: (virtual timer
/// vector, guest deadline shadow, guest deadline in host TSC). Without TSC offsetting or scaling
/// the conversion is the identity; 0 leaves the timer disarmed.
pub const fn hardware_fields(vector: u8, deadline: u64) -> (u16, u64, u64) {
    (vector as u16, deadline, deadline)
}
