//! A timer's exits by kind, from the guest library's exit meter: WRMSR (an arm that exits), the
//! VMX-preemption timer (an expiry the hypervisor times), RDMSR (the test reading the timer back,
//! not part of a tick's cost) and every other exit.

use tessera_guest::exits::{ExitReason, Exits};

/// Exits of a measured stretch, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerExits {
    pub arm: u64,
    pub expiry: u64,
    pub read: u64,
    pub other: u64,
}

impl TimerExits {
    /// Sorts `exits` by kind.
    pub fn of(exits: &Exits) -> TimerExits {
        let kinds = [
            ExitReason::Wrmsr,
            ExitReason::PreemptionTimer,
            ExitReason::Rdmsr,
        ];
        TimerExits {
            arm: exits.of(ExitReason::Wrmsr),
            expiry: exits.of(ExitReason::PreemptionTimer),
            read: exits.of(ExitReason::Rdmsr),
            other: exits.other_than(&kinds),
        }
    }

    /// What the ticks cost: arms, expiries and anything unexpected (reads left out).
    pub fn total(&self) -> u64 {
        self.arm + self.expiry + self.other
    }
}
