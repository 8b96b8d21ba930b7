//! The guests' exit meter: the VM exits of a stretch of guest code, by basic exit reason
//! (`tessera_vmx::exit::ExitReason`, the hypervisor's own names and numbers). The vCPU's counters
//! are read in one hypercall before and after the stretch; that hypercall is not counted in what
//! it returns, so the closing read counts exactly one exit that is not the stretch's, the opening
//! read's VMCALL, which is taken out.

use crate::hypercall::{exit_counters, ExitCounters};
use crate::runtime::Failure;
pub use tessera_vmx::exit::ExitReason;

/// Counters in one read: one per basic exit reason, then the unknown reasons.
pub const ENTRIES: usize = core::mem::size_of::<ExitCounters>() / 8;

/// Exits of a measured stretch, by basic exit reason (the last entry: unknown reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exits {
    counts: ExitCounters,
}

impl Exits {
    /// The exits between two reads of the counters, less the VMCALL of the read `before`.
    pub fn between(before: &ExitCounters, after: &ExitCounters) -> Exits {
        let mut counts = [0; ENTRIES];
        for (count, (after, before)) in counts.iter_mut().zip(after.iter().zip(before)) {
            *count = after - before;
        }
        let vmcall = &mut counts[ExitReason::Vmcall as usize];
        *vmcall = vmcall.saturating_sub(1);
        Exits { counts }
    }

    /// Exits with basic reason `reason`.
    pub fn of(&self, reason: ExitReason) -> u64 {
        self.counts[reason as usize]
    }

    /// Exits an ICR write costs when it leaves the guest: WRMSR (x2APIC without IPI
    /// virtualization) and APIC write (an ICR value IPIv does not virtualize). Meaningful for a
    /// stretch whose only MSR writes are ICR writes.
    pub fn sends(&self) -> u64 {
        self.of(ExitReason::Wrmsr) + self.of(ExitReason::ApicWrite)
    }

    /// Every exit but the sends.
    pub fn others(&self) -> u64 {
        self.total() - self.sends()
    }

    /// Every exit.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Every exit whose reason is none of `reasons` (unknown reasons included).
    pub fn other_than(&self, reasons: &[ExitReason]) -> u64 {
        let named: u64 = ExitReason::ALL
            .iter()
            .filter(|reason| reasons.contains(reason))
            .map(|&reason| self.of(reason))
            .sum();
        self.total() - named
    }

    /// Every count, indexed by basic exit-reason number (the last entry: unknown reasons).
    pub fn entries(&self) -> &ExitCounters {
        &self.counts
    }
}

/// This vCPU's exit counters now (the read itself is not among them).
pub fn counters() -> Result<ExitCounters, Failure> {
    exit_counters().map_err(|e| Failure::new(format_args!("exit-counters hypercall failed: {e:?}")))
}

/// Measures the exits from [`Meter::start`] (or the last [`Meter::lap`]) on.
pub struct Meter {
    start: ExitCounters,
}

impl Meter {
    /// Starts measuring.
    pub fn start() -> Result<Meter, Failure> {
        Ok(Meter { start: counters()? })
    }

    /// The exits since the start.
    pub fn stop(&self) -> Result<Exits, Failure> {
        Ok(Exits::between(&self.start, &counters()?))
    }

    /// The exits since the start, and a new start at once (one read closes one stretch and
    /// opens the next).
    pub fn lap(&mut self) -> Result<Exits, Failure> {
        let now = counters()?;
        let exits = Exits::between(&self.start, &now);
        self.start = now;
        Ok(exits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters with `(reason number, count)` set, the rest 0.
    fn counters_with(set: &[(usize, u64)]) -> ExitCounters {
        let mut counters = [0; ENTRIES];
        for &(reason, count) in set {
            counters[reason] = count;
        }
        counters
    }

    #[test]
    fn the_opening_reads_vmcall_is_taken_out_and_nothing_else() {
        // VMCALL = 18, WRMSR = 32, APIC write = 56, preemption timer = 52 (SDM Vol. 3D, App. C).
        let before = counters_with(&[(18, 5), (32, 2), (56, 1)]);
        let after = counters_with(&[(18, 6), (32, 7), (56, 3), (52, 4), (ENTRIES - 1, 1)]);
        let exits = Exits::between(&before, &after);
        assert_eq!(exits.of(ExitReason::Vmcall), 0);
        assert_eq!(exits.of(ExitReason::Wrmsr), 5);
        assert_eq!(exits.sends(), 7);
        assert_eq!(exits.of(ExitReason::PreemptionTimer), 4);
        assert_eq!(
            exits.total(),
            12,
            "5 WRMSR + 2 APIC writes + 4 expiries + 1 unknown"
        );
        let named = [ExitReason::Wrmsr, ExitReason::ApicWrite, ExitReason::Vmcall];
        assert_eq!(
            exits.other_than(&named),
            5,
            "the expiries and the unknown one"
        );
    }

    #[test]
    fn vmcalls_of_the_stretch_are_kept() {
        let exits = Exits::between(&counters_with(&[(18, 1)]), &counters_with(&[(18, 4)]));
        assert_eq!(exits.of(ExitReason::Vmcall), 2);
        assert_eq!(exits.total(), 2);
    }

    #[test]
    fn one_read_holds_every_reason_the_hypervisor_counts_and_unknown_ones() {
        let largest = ExitReason::ALL.iter().map(|&r| r as usize).max();
        assert_eq!(largest, Some(ENTRIES - 2));
    }
}
