//! The boot CPU's machine check: MADT CPUs, RAM and VMX capabilities against the plan. Every
//! difference is logged on its own line, then boot is refused.

use super::machine::{cpu_differences, ram_differences, Difference, FirmwareCpu};
use crate::plan::PLAN;
use tessera_arch::multiboot::{BootInfo, MEMORY_AVAILABLE};
use tessera_vmx::controls::SecondaryProcBased;
use tessera_vmx::select::{select, SelectedControls};

/// Checks the machine; returns the VMX controls to use, or refuses to boot. Not inlined, so its
/// frame is gone before the partitions are set up on the same stack; each part of the check runs
/// in a frame of its own, and each difference is logged as it is found (no list of them).
#[inline(never)]
pub fn machine(boot: &BootInfo) -> SelectedControls {
    let mut refusals = cpu_refusals(boot);
    let available = boot
        .memory_map()
        .filter(|r| r.kind == MEMORY_AVAILABLE)
        .map(|r| (r.base, r.base + r.length_bytes));
    ram_differences(&PLAN, available, &mut |d| log_difference(d, &mut refusals));
    if !tessera_arch::apic::x2apic_enabled() {
        log::error!(
            "machine: the CPU does not report x2APIC (CPUID.01H:ECX bit 21); Tessera drives every local APIC in x2APIC mode"
        );
        refusals += 1;
    }
    let controls = vmx_controls();
    if let Some(c) = &controls {
        refusals += timer_refusals(c);
    }
    refusals += usize::from(controls.is_none());
    match controls {
        Some(c) if refusals == 0 => c,
        _ => tessera_arch::fatal(format_args!(
            "the machine does not match board `{}`: {refusals} difference(s)",
            PLAN.board
        )),
    }
}

/// The MADT's CPUs against the board's: one refusal per difference, or one if the MADT cannot
/// be read.
#[inline(never)]
fn cpu_refusals(boot: &BootInfo) -> usize {
    let mut refusals = 0;
    match tessera_arch::acpi::madt_cpus(boot) {
        Ok(madt) => {
            let cpus = || {
                madt.iter().map(|c| FirmwareCpu {
                    apic_id: c.apic_id,
                    enabled: c.enabled,
                })
            };
            cpu_differences(&PLAN, cpus, &mut |d| log_difference(d, &mut refusals));
        }
        Err(e) => {
            log::error!("machine: the ACPI MADT cannot be read: {e}");
            refusals += 1;
        }
    }
    refusals
}

fn log_difference(d: Difference<'_>, refusals: &mut usize) {
    log::error!("machine: {d}");
    *refusals += 1;
}

/// Selects the VMX controls for the plan's IPIv mode from this CPU's capability MSRs.
fn vmx_controls() -> Option<SelectedControls> {
    if !tessera_arch::vmx::supported() {
        log::error!("machine: the CPU does not report VMX (CPUID.01H:ECX bit 5)");
        return None;
    }
    match select(&tessera_arch::vmx::capabilities(), PLAN.ipiv.mode) {
        Ok(c) => {
            if let Some(why) = c.ipiv_unavailable {
                log::warn!("IPIv preferred but unavailable, ICR writes will exit: {why}");
            }
            log::info!(
                "VMX controls selected: IPI virtualization {}, APIC-timer virtualization {}",
                on_off(c.ipiv),
                if c.apic_timer_virtualization {
                    "offered"
                } else {
                    "not offered"
                }
            );
            bus_locks(c)
        }
        Err(e) => {
            log::error!("machine: {e}");
            None
        }
    }
}

/// Says whether guests' bus locks exit; refuses a CPU without the exit on a board that states it.
fn bus_locks(controls: SelectedControls) -> Option<SelectedControls> {
    let detected = controls
        .secondary
        .contains(SecondaryProcBased::VMM_BUS_LOCK_DETECTION);
    if PLAN.bus_lock_exit && !detected {
        log::error!("machine: board `{}` states bus_lock_exit but the CPU has no VMM bus-lock detection (IA32_VMX_PROCBASED_CTLS2 bit 62)", PLAN.board);
        return None;
    }
    match detected {
        true => log::info!("bus locks: each one a guest takes exits and is counted"),
        false => log::warn!("bus locks: not contained (the CPU has no VMM bus-lock detection)"),
    }
    Some(controls)
}

/// Each partition with `timer = "virtualized"` on a CPU without APIC-timer virtualization is one
/// refusal, logged with the partition's name and the control the CPU lacks.
fn timer_refusals(controls: &SelectedControls) -> usize {
    let offered = controls.apic_timer_virtualization;
    let refused = PLAN
        .partitions
        .iter()
        .filter(|p| p.timer.virtualized(offered).is_none());
    let mut count = 0;
    for part in refused {
        match controls.timer_virtualization_unavailable {
            Some(why) => log::error!("machine: partition `{}`: {why}", part.name),
            None => log::error!(
                "machine: partition `{}`: timer = \"virtualized\" required but the CPU does not offer APIC-timer virtualization",
                part.name
            ),
        }
        count += 1;
    }
    count
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
