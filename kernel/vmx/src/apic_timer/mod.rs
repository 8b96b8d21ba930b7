//! The guest's local APIC timer: its registers, a per-vCPU software model of the three modes, the
//! frequencies a guest is told, the VMX-preemption timer value that times a deadline, and which
//! path (trapped or APIC-timer virtualization) serves it.

mod frequency;
mod registers;
mod state;
#[cfg(test)]
mod tests;
mod virt;

pub use frequency::TimerFrequency;
pub use registers::{divisor, Lvt, TimerMode, DIVIDE_WRITABLE, LVT_MASK, LVT_TIMER_WRITABLE};
pub use state::{preemption_timer_value, ApicTimer, Expiry, PREEMPTION_TIMER_MAX};
pub use virt::{armed_deadline, hardware_fields, virtualized_vector};

/// SVR bit 8: APIC software enable.
pub const SVR_APIC_ENABLED: u32 = 1 << 8;
