//! A vCPU's exit counters, as its run loop counts them (one set per vCPU in the kernel's shared
//! state, read by the end-of-run summary once the vCPU stopped; the emulator check counts with them
//! too): a `u64` slot only for the basic reasons a vCPU runs on after. A reason whose handling stops the vCPU (`handling::may_resume` is false: EPT violation,
//! triple fault, machine check, every unhandled reason) ends the vCPU's life at its first
//! occurrence, so the run loop counts at most one such exit: those are kept in a short list of
//! (reason, count) instead of a slot each, 240 bytes instead of 648 with a slot per reason (the
//! test model `SlotCounters`, which they must agree with).

use core::fmt;

use super::handling::{handling, may_resume};
use super::reason::ExitReason;
use super::report::{self, write_report, SLOTS};

/// `SLOT_OF[number]` for a stopping reason (kept by number) and for a number the SDM does not
/// define (counted as unknown).
const STOPPING_REASON: u8 = u8::MAX - 1;
const UNDEFINED: u8 = u8::MAX;

/// The slot of each basic reason number after which a vCPU may run on, and how many there are.
const fn slot_map() -> ([u8; SLOTS], usize) {
    let mut map = [UNDEFINED; SLOTS];
    let mut next = 0;
    let mut i = 0;
    while i < ExitReason::ALL.len() {
        let reason = ExitReason::ALL[i];
        if may_resume(handling(reason)) {
            map[reason as usize] = next as u8;
            next += 1;
        } else {
            map[reason as usize] = STOPPING_REASON;
        }
        i += 1;
    }
    (map, next)
}

const SLOT_MAP: ([u8; SLOTS], usize) = slot_map();
const SLOT_OF: [u8; SLOTS] = SLOT_MAP.0;
/// Reasons with a slot of their own (25 with the SDM's reasons and Tessera's handling).
const RESUMING: usize = SLOT_MAP.1;
/// Stopping reasons kept by number: one is all a vCPU's life can count; the second holds a
/// reason recorded after a stop by a caller other than the run loop.
const STOPPING: usize = 2;

/// Exit counts of one vCPU by basic exit-reason number; unknown numbers count as `unknown`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitCounters {
    resuming: [u64; RESUMING],
    /// (reason number, count) of stopping reasons, in the order first seen; count 0 is free.
    stopping: [(u16, u64); STOPPING],
    /// Stopping exits that found the list full (their reason is not kept; never from the run loop).
    other_stopping: u64,
    unknown: u64,
}

impl Default for ExitCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl ExitCounters {
    pub const fn new() -> Self {
        ExitCounters {
            resuming: [0; RESUMING],
            stopping: [(0, 0); STOPPING],
            other_stopping: 0,
            unknown: 0,
        }
    }

    /// The counts of the model `counters`, kept so.
    #[cfg(test)]
    fn from_model(counters: &super::slot_counters::SlotCounters) -> Self {
        let mut out = Self::new();
        for (reason, count) in counters.nonzero() {
            match SLOT_OF[reason as usize] {
                STOPPING_REASON => out.add_stopping(reason as u16, count),
                slot => out.resuming[usize::from(slot)] = count,
            }
        }
        out.unknown = counters.unknown();
        out
    }

    /// Counts one exit with basic reason number `basic` (bits 15:0 of the exit-reason field).
    pub fn record(&mut self, basic: u16) {
        let slot = SLOT_OF
            .get(usize::from(basic))
            .copied()
            .unwrap_or(UNDEFINED);
        match self.resuming.get_mut(usize::from(slot)) {
            Some(count) => *count += 1,
            None if slot == STOPPING_REASON => self.add_stopping(basic, 1),
            None => self.unknown += 1,
        }
    }

    /// `count` exits of a stopping reason, by number.
    fn add_stopping(&mut self, basic: u16, count: u64) {
        let free_or_same = self
            .stopping
            .iter_mut()
            .find(|(number, count)| *count == 0 || *number == basic);
        match free_or_same {
            Some(entry) => *entry = (basic, entry.1 + count),
            None => self.other_stopping += count,
        }
    }

    /// How many exits with `reason` were counted.
    pub fn count(&self, reason: ExitReason) -> u64 {
        match SLOT_OF[reason as usize] {
            STOPPING_REASON => self
                .stopping
                .iter()
                .filter(|&&(number, _)| number == reason as u16)
                .map(|&(_, count)| count)
                .sum(),
            slot => self.resuming[usize::from(slot)],
        }
    }

    /// Exits whose number the SDM does not define.
    pub fn unknown(&self) -> u64 {
        self.unknown
    }

    /// Every exit counted.
    pub fn total(&self) -> u64 {
        let stopping: u64 = self.stopping.iter().map(|&(_, count)| count).sum();
        self.resuming.iter().sum::<u64>() + stopping + self.other_stopping + self.unknown
    }

    /// Every count as the exit-counters hypercall returns it: slot `r` = basic reason `r`
    /// (0 for numbers the SDM does not define), then unknown reasons (and the stopping exits
    /// whose reason was not kept, which the run loop never has).
    pub fn entries(&self) -> [u64; SLOTS + 1] {
        core::array::from_fn(|i| self.entry(i))
    }

    /// Entry `i` of [`Self::entries`] (0 past its end), without building the array.
    pub fn entry(&self, i: usize) -> u64 {
        match i {
            SLOTS => self.unknown + self.other_stopping,
            i if i < SLOTS => ExitReason::from_number(i as u16).map_or(0, |r| self.count(r)),
            _ => 0,
        }
    }

    /// Non-zero counts in reason order.
    pub fn nonzero(&self) -> impl Iterator<Item = (ExitReason, u64)> + '_ {
        report::nonzero(|reason| self.count(reason))
    }
}

impl fmt::Display for ExitCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_report(
            f,
            self.nonzero(),
            self.other_stopping,
            self.unknown,
            self.total(),
        )
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    super::super::slot_counters::shared_counter_tests!(ExitCounters);

    #[test]
    fn stopping_reasons_are_counted_by_number() {
        let mut counters = ExitCounters::new();
        counters.record(ExitReason::Cpuid as u16);
        counters.record(ExitReason::EptViolation as u16);
        counters.record(ExitReason::EptViolation as u16);
        counters.record(ExitReason::TripleFault as u16);
        counters.record(ExitReason::Hlt as u16);
        assert_eq!(counters.count(ExitReason::EptViolation), 2);
        assert_eq!(counters.count(ExitReason::TripleFault), 1);
        assert_eq!(counters.count(ExitReason::Hlt), 0, "the list was full");
        assert_eq!(counters.entries()[SLOTS], 1);
        assert_eq!(counters.total(), 5);
        assert_eq!(
            counters.to_string(),
            "exits: triple_fault=1 cpuid=1 ept_violation=2 other=1 total=5"
        );
    }

    #[test]
    fn every_resuming_reason_has_a_slot_of_its_own() {
        let mut counters = ExitCounters::new();
        for (i, &reason) in ExitReason::ALL.iter().enumerate() {
            if may_resume(handling(reason)) {
                for _ in 0..=i {
                    counters.record(reason as u16);
                }
            }
        }
        for (i, &reason) in ExitReason::ALL.iter().enumerate() {
            let expected = if may_resume(handling(reason)) {
                i as u64 + 1
            } else {
                0
            };
            assert_eq!(counters.count(reason), expected, "{reason:?}");
        }
        assert_eq!(RESUMING, 25);
    }

    #[test]
    fn the_counts_are_the_models() {
        let mut model = super::super::slot_counters::SlotCounters::new();
        let mut counters = ExitCounters::new();
        for basic in [10, 10, 18, 48, 1000, 30] {
            model.record(basic);
            counters.record(basic);
        }
        assert_eq!(counters, ExitCounters::from_model(&model));
        assert_eq!(counters.to_string(), model.to_string());
        assert_eq!(counters.total(), 6);
        assert_eq!(counters.count(ExitReason::EptViolation), 1);
        assert_eq!(counters.entries(), model.entries());
    }
}
