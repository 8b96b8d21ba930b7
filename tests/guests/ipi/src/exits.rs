//! VM exits of a stretch of guest code, read through the exit-count hypercall before and after
//! it: exits from sending IPIs (WRMSR to the ICR, APIC write) and every other exit. The
//! hypercalls' own VMCALL exits are measured once (`Meter::calibrate`) and taken out.

use tessera_guest::hypercall::{denied_ipis as read_denied_ipis, exit_count, total_exits};
use tessera_guest::Failure;

/// Basic exit reason of WRMSR (an ICR write without IPIv).
const EXIT_WRMSR: u32 = 32;
/// Basic exit reason of an APIC write (an ICR value IPIv does not virtualize).
const EXIT_APIC_WRITE: u32 = 56;

/// Exits of a measured stretch, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exits {
    /// ICR writes that left the guest (WRMSR or APIC-write exits).
    pub send: u64,
    /// Every other exit (a receiver's exits, if any).
    pub other: u64,
}

/// Exit counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    total: u64,
    send: u64,
}

/// The exits between `before` and `after`, less `overhead` VMCALLs the snapshots themselves cost.
pub fn between(before: Snapshot, after: Snapshot, overhead: u64) -> Exits {
    let send = after.send - before.send;
    let total = after.total - before.total;
    Exits {
        send,
        other: total.saturating_sub(send + overhead),
    }
}

/// Reads exit counters with the hypercalls' own exits calibrated out.
pub struct Meter {
    overhead: u64,
}

impl Meter {
    /// Takes two snapshots back to back: their difference is what snapshots alone cost.
    pub fn calibrate() -> Result<Meter, Failure> {
        let first = snapshot()?;
        let second = snapshot()?;
        let idle = between(first, second, 0);
        if idle.send != 0 {
            return Err(Failure::new(format_args!(
                "{} send exits between two idle snapshots",
                idle.send
            )));
        }
        Ok(Meter {
            overhead: idle.other,
        })
    }

    /// Counters before a measured stretch.
    pub fn start(&self) -> Result<Snapshot, Failure> {
        snapshot()
    }

    /// Exits since `before`.
    pub fn stop(&self, before: Snapshot) -> Result<Exits, Failure> {
        Ok(between(before, snapshot()?, self.overhead))
    }
}

/// IPIs this vCPU sent that the hypervisor dropped and counted, so far.
pub fn denied_ipis() -> Result<u64, Failure> {
    read_denied_ipis().map_err(|e| Failure::new(format_args!("denied-IPI hypercall failed: {e:?}")))
}

fn snapshot() -> Result<Snapshot, Failure> {
    let failed = |e| Failure::new(format_args!("exit-count hypercall failed: {e:?}"));
    let total = total_exits().map_err(failed)?;
    let wrmsr = exit_count(EXIT_WRMSR).map_err(failed)?;
    let apic_write = exit_count(EXIT_APIC_WRITE).map_err(failed)?;
    Ok(Snapshot {
        total,
        send: wrmsr + apic_write,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_calls_are_taken_out_of_other_exits() {
        let before = Snapshot { total: 10, send: 2 };
        let after = Snapshot { total: 18, send: 7 };
        assert_eq!(between(before, after, 3), Exits { send: 5, other: 0 });
        let noisy = Snapshot { total: 20, send: 7 };
        assert_eq!(between(before, noisy, 3), Exits { send: 5, other: 2 });
    }
}
