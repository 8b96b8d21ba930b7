//! What the boot CPU hands each vCPU's CPU (`crate::partition::Launch`: its heap structures, its
//! partition's tables and a view of its partition's memory), plus the VMX controls chosen at boot.

pub use crate::partition::Launch;
use crate::vcpu::shared::VCPUS;
use tessera_arch::sync::SpinLock;
use tessera_vmx::apic_timer::TimerFrequency;
use tessera_vmx::select::SelectedControls;

static LAUNCH: [SpinLock<Option<Launch>>; VCPUS] = [const { SpinLock::new(None) }; VCPUS];
static CONTROLS: SpinLock<Option<SelectedControls>> = SpinLock::new(None);
static TIMER_FREQUENCY: SpinLock<Option<TimerFrequency>> = SpinLock::new(None);

/// Hands `launch` to vCPU `index` (boot CPU, before the vCPU's CPU starts).
pub fn publish(index: usize, launch: Launch) {
    *LAUNCH[index].lock() = Some(launch);
}

/// Everything else of vCPU `index`, once.
pub fn take(index: usize) -> Option<Launch> {
    LAUNCH.get(index)?.lock().take()
}

pub fn set_controls(controls: SelectedControls) {
    *CONTROLS.lock() = Some(controls);
}

pub fn controls() -> Option<SelectedControls> {
    *CONTROLS.lock()
}

/// Whether partition `partition`'s TSC-deadline timers run on APIC-timer virtualization: the CPU
/// offers it and the partition's `timer` setting takes it (a `virtualized` partition on a CPU
/// without it never gets here: the machine check refuses to boot).
pub fn timer_virtualized(partition: u16) -> bool {
    let offered = controls().is_some_and(|c| c.apic_timer_virtualization);
    crate::plan::PLAN.partitions[usize::from(partition)]
        .timer
        .virtualized(offered)
        .unwrap_or(false)
}

/// The TSC and APIC timer frequencies guests are told (set once at boot).
pub fn set_timer_frequency(frequency: TimerFrequency) {
    *TIMER_FREQUENCY.lock() = Some(frequency);
}

pub fn timer_frequency() -> Option<TimerFrequency> {
    *TIMER_FREQUENCY.lock()
}
