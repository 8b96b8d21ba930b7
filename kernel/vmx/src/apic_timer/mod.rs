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

/// IA32_TSC_DEADLINE (SDM Vol. 4).
pub const IA32_TSC_DEADLINE: u32 = 0x6E0;
/// x2APIC LVT timer register (APIC offset 320H).
pub const X2APIC_LVT_TIMER: u32 = 0x832;
/// x2APIC initial-count register (380H).
pub const X2APIC_INITIAL_COUNT: u32 = 0x838;
/// x2APIC current-count register (390H, read-only).
pub const X2APIC_CURRENT_COUNT: u32 = 0x839;
/// x2APIC divide-configuration register (3E0H).
pub const X2APIC_DIVIDE_CONFIGURATION: u32 = 0x83E;
/// x2APIC spurious-interrupt vector register (0F0H): bit 8 enables the APIC in software.
pub const X2APIC_SVR: u32 = 0x80F;
/// SVR bit 8: APIC software enable.
pub const SVR_APIC_ENABLED: u32 = 1 << 8;
