//! Test-only model of the exit counters: one slot per basic exit reason, the plainest layout, which
//! `ExitCounters` (a slot only for the reasons a vCPU runs on after) must agree with; and the
//! report and layout tests both must pass, written once.

use core::fmt;

use super::reason::ExitReason;
use super::report::{self, write_report, SLOTS};

/// Exit counts indexed by basic exit-reason number; unknown numbers count as `unknown`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotCounters {
    by_reason: [u64; SLOTS],
    unknown: u64,
}

impl Default for SlotCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl SlotCounters {
    pub const fn new() -> Self {
        SlotCounters {
            by_reason: [0; SLOTS],
            unknown: 0,
        }
    }

    /// Counts one exit with basic reason number `basic` (bits 15:0 of the exit-reason field).
    pub fn record(&mut self, basic: u16) {
        match ExitReason::from_number(basic) {
            Some(reason) => self.by_reason[reason as usize] += 1,
            None => self.unknown += 1,
        }
    }

    /// How many exits with `reason` were counted.
    pub fn count(&self, reason: ExitReason) -> u64 {
        self.by_reason[reason as usize]
    }

    /// Exits whose number the SDM does not define.
    pub fn unknown(&self) -> u64 {
        self.unknown
    }

    /// Every exit counted.
    pub fn total(&self) -> u64 {
        self.by_reason.iter().sum::<u64>() + self.unknown
    }

    /// Every count as the exit-counters hypercall returns it: slot `r` = basic reason `r`
    /// (0 for numbers the SDM does not define), then unknown reasons.
    pub fn entries(&self) -> [u64; SLOTS + 1] {
        core::array::from_fn(|i| self.entry(i))
    }

    /// Entry `i` of [`Self::entries`] (0 past its end), without building the array.
    pub fn entry(&self, i: usize) -> u64 {
        match i {
            i if i < SLOTS => self.by_reason[i],
            SLOTS => self.unknown,
            _ => 0,
        }
    }

    fn entries_copied(&self) -> [u64; SLOTS + 1] {
        let mut out = [0; SLOTS + 1];
        out[..SLOTS].copy_from_slice(&self.by_reason);
        out[SLOTS] = self.unknown;
        out
    }

    /// Non-zero counts in reason order.
    pub fn nonzero(&self) -> impl Iterator<Item = (ExitReason, u64)> + '_ {
        report::nonzero(|reason| self.count(reason))
    }
}

impl fmt::Display for SlotCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_report(f, self.nonzero(), 0, self.unknown, self.total())
    }
}

/// The report and layout tests every exit-counter type must pass (`ExitCounters` and this model),
/// written once; expanded inside each type's own test module.
macro_rules! shared_counter_tests {
    ($counters:ident) => {
        #[test]
        fn report_lists_nonzero_reasons_in_order() {
            let mut counters = $counters::new();
            for _ in 0..12 {
                counters.record(ExitReason::Vmcall as u16);
            }
            for _ in 0..3 {
                counters.record(ExitReason::Cpuid as u16);
            }
            assert_eq!(counters.to_string(), "exits: cpuid=3 vmcall=12 total=15");
        }

        #[test]
        fn unknown_reasons_are_counted_apart() {
            let mut counters = $counters::new();
            counters.record(35);
            counters.record(1000);
            counters.record(ExitReason::ApicWrite as u16);
            assert_eq!(counters.unknown(), 2);
            assert_eq!(counters.count(ExitReason::ApicWrite), 1);
            assert_eq!(
                counters.to_string(),
                "exits: apic_write=1 unknown=2 total=3"
            );
        }

        #[test]
        fn entries_are_indexed_by_reason_number_then_unknown() {
            let mut counters = $counters::new();
            counters.record(ExitReason::Wrmsr as u16);
            counters.record(ExitReason::Wrmsr as u16);
            counters.record(1000);
            let entries = counters.entries();
            assert_eq!(entries.len() as u64, crate::guest_abi::EXIT_COUNTER_ENTRIES);
            assert_eq!(entries[32], 2);
            assert_eq!(entries[SLOTS], 1);
            assert_eq!(entries.iter().sum::<u64>(), counters.total());
        }

        #[test]
        fn empty_report() {
            assert_eq!($counters::default().to_string(), "exits: total=0");
        }
    };
}
pub(super) use shared_counter_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_by_entry_is_the_copied_array() {
        let mut c = SlotCounters::new();
        c.record(ExitReason::Vmcall as u16);
        c.record(ExitReason::Cpuid as u16);
        c.record(ExitReason::Vmcall as u16);
        c.record(9999);
        assert_eq!(c.entries(), c.entries_copied());
        assert_eq!(c.entry(ExitReason::Vmcall as usize), 2);
        assert_eq!(c.entry(SLOTS), 1);
        assert_eq!(c.entry(SLOTS + 1), 0);
    }
    use std::string::ToString;

    shared_counter_tests!(SlotCounters);
}
