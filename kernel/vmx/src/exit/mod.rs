//! Decoding VM exits: the basic reason, its qualification, interruption information, and counting.

mod apic;
mod counters;
mod cr;
mod ept_violation;
mod instruction_error;
mod interruption;
mod io;
mod reason;
mod stop;

pub use apic::{
    ApicAccess, ApicAccessType, ApicWrite, ApicWriteRegister, ICR_OFFSET, SELF_IPI_OFFSET,
};
pub use counters::ExitCounters;
pub use cr::{CrAccess, CrAccessType};
pub use ept_violation::EptViolation;
pub use instruction_error::{guest_state_failure_text, instruction_error_text};
pub use interruption::{InterruptionInfo, InterruptionType};
pub use io::{IoDirection, IoQualification};
pub use reason::{ExitReason, ExitReasonField, MAX_EXIT_REASON};
pub use stop::{StopReason, StopReport};
