//! VM exits of a stretch of guest code, by the reasons a timer costs: WRMSR (an arm that exits),
//! the VMX-preemption timer (an expiry the hypervisor times), RDMSR (the test reading the deadline
//! back, not part of a tick's cost) and every other exit. Read through
//! the exit-count hypercall before and after; the snapshots' own VMCALL exits are calibrated out.

use tessera_guest::hypercall::{exit_count, total_exits};
use tessera_guest::Failure;

const EXIT_RDMSR: u32 = 31;
const EXIT_WRMSR: u32 = 32;
const EXIT_PREEMPTION_TIMER: u32 = 52;

/// Exits of a measured stretch, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerExits {
    pub arm: u64,
    pub expiry: u64,
    pub read: u64,
    pub other: u64,
}

impl TimerExits {
    /// What the ticks cost: arms, expiries and anything unexpected (reads left out).
    pub fn total(&self) -> u64 {
        self.arm + self.expiry + self.other
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counts {
    total: u64,
    rdmsr: u64,
    wrmsr: u64,
    preemption: u64,
}

/// Measures exits with the snapshots' own cost taken out.
pub struct ExitMeter {
    overhead: u64,
    start: Counts,
}

impl ExitMeter {
    /// Calibrates (two snapshots back to back) and starts measuring.
    pub fn start() -> Result<Self, Failure> {
        let first = counts()?;
        let second = counts()?;
        let overhead = second.total - first.total;
        Ok(ExitMeter {
            overhead,
            start: counts()?,
        })
    }

    /// Exits since `start`.
    pub fn stop(&self) -> Result<TimerExits, Failure> {
        let now = counts()?;
        let arm = now.wrmsr - self.start.wrmsr;
        let expiry = now.preemption - self.start.preemption;
        let read = now.rdmsr - self.start.rdmsr;
        let all = (now.total - self.start.total).saturating_sub(self.overhead);
        Ok(TimerExits {
            arm,
            expiry,
            read,
            other: all.saturating_sub(arm + expiry + read),
        })
    }
}

fn counts() -> Result<Counts, Failure> {
    let failed = |e| Failure::new(format_args!("exit-count hypercall failed: {e:?}"));
    Ok(Counts {
        total: total_exits().map_err(failed)?,
        rdmsr: exit_count(EXIT_RDMSR).map_err(failed)?,
        wrmsr: exit_count(EXIT_WRMSR).map_err(failed)?,
        preemption: exit_count(EXIT_PREEMPTION_TIMER).map_err(failed)?,
    })
}
