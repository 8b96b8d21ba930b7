//! The frequencies guests are told: the board's `tsc_hz`, or else what the CPU's own CPUID leaf 15H
//! (or 16H) says. The boot log names the source; with neither, boot is refused.

use crate::plan::PLAN;
use tessera_vmx::apic_timer::TimerFrequency;

/// The TSC and APIC timer frequencies of this machine, or a refusal to boot.
pub fn frequency() -> TimerFrequency {
    let (frequency, source) = match PLAN.tsc_hz {
        Some(hz) => (TimerFrequency::from_tsc_hz(hz), "board tsc_hz"),
        None => {
            let leaf_15 = tessera_arch::cpuid(0x15, 0);
            let leaf_16 = tessera_arch::cpuid(0x16, 0);
            match TimerFrequency::from_host_leaves(leaf_15, leaf_16) {
                Some(f) => (f, "CPUID leaf 15H/16H"),
                None => tessera_arch::fatal(format_args!(
                    "timer: board `{}` states no tsc_hz and CPUID leaves 15H/16H give no TSC frequency",
                    PLAN.board
                )),
            }
        }
    };
    log::info!(
        "timer: TSC {} Hz ({source}), APIC timer {} Hz ({} TSC cycles per count at divide 1)",
        frequency.tsc_hz,
        frequency.apic_timer_hz(),
        frequency.tsc_per_count
    );
    frequency
}
