//! Exit windows: the vCPU's exit counters read through the hypervisor (one hypercall) at each
//! batch boundary; a window's exits are the difference, less the one VMCALL of the snapshot that
//! opened it (a snapshot never counts itself).

use crate::arena::Slab;
use tessera_guest::hypercall::{exit_counters, ExitCounters};
use tessera_guest::Failure;

/// Counter slots per window.
pub const ENTRIES: usize = core::mem::size_of::<ExitCounters>() / 8;
/// Basic exit reason of VMCALL.
const VMCALL: usize = 18;

/// Counters at the start of the open window.
pub struct Windows {
    last: ExitCounters,
}

/// This vCPU's counters now.
pub fn snapshot() -> Result<ExitCounters, Failure> {
    exit_counters().map_err(|e| Failure::new(format_args!("exit-counters hypercall failed: {e:?}")))
}

impl Windows {
    /// Opens the first window.
    pub fn open() -> Result<Windows, Failure> {
        Ok(Windows { last: snapshot()? })
    }

    /// Closes the open window into `out` at window `index` (ENTRIES words each) and opens the next.
    pub fn close(&mut self, out: &Slab, index: usize) -> Result<(), Failure> {
        let now = snapshot()?;
        for (reason, (now, last)) in now.iter().zip(self.last).enumerate() {
            let mut exits = now - last;
            if reason == VMCALL {
                exits -= 1;
            }
            out.set(index * ENTRIES + reason, exits);
        }
        self.last = now;
        Ok(())
    }
}
