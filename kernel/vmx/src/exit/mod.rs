//! Decoding VM exits: the basic reason, its qualification, interruption information, and counting.

mod apic;
mod counters;
mod cr;
mod ept_violation;
mod handling;
mod instruction_error;
mod interruption;
mod io;
pub mod machine_check;
mod reason;
mod report;
mod skip;
#[cfg(test)]
mod slot_counters;
mod stop;

pub use apic::{
    ApicAccess, ApicAccessType, ApicWrite, ApicWriteRegister, ICR_OFFSET, SELF_IPI_OFFSET,
};
pub use counters::ExitCounters;
pub use cr::{CrAccess, CrAccessType};
pub use ept_violation::EptViolation;
pub use handling::{handling, may_resume, Handling};
pub use instruction_error::{guest_state_failure_text, instruction_error_text};
pub use interruption::{InterruptionInfo, InterruptionType};
pub use io::{IoDirection, IoQualification};
pub use reason::{ExitReason, ExitReasonField, MAX_EXIT_REASON};
pub use skip::GuestEventState;
pub use stop::{StopReason, StopReport};

/// The guest RIP after skipping the `instruction_length_bytes`-byte instruction that exited at
/// `rip` (VMCS "VM-exit instruction length"). Wraps like the processor: an instruction at the top of
/// the 64-bit address space continues at 0, which a guest with its own page tables can arrange.
pub const fn rip_after(rip: u64, instruction_length_bytes: u64) -> u64 {
    rip.wrapping_add(instruction_length_bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rip_after_adds_the_length_and_wraps_at_the_top() {
        assert_eq!(super::rip_after(0x1000, 3), 0x1003);
        assert_eq!(super::rip_after(u64::MAX - 1, 3), 1);
    }
}
