//! Waiting for an interrupt the way a receiver under test does: spinning with interrupts on
//! (`Poll`) or halted with interrupts on between checks (`Halt`, HLT does not exit in Tessera).

use tessera_guest::{cpu, idt};

/// How a receiver waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    Poll,
    Halt,
}

impl Wait {
    /// `poll` or `halt`.
    pub fn name(self) -> &'static str {
        match self {
            Wait::Poll => "poll",
            Wait::Halt => "halt",
        }
    }
}

/// How long a polling receiver waits for one IPI before it fails, in TSC cycles.
pub const TIMEOUT_CYCLES: u64 = 2_000_000_000;

/// Waits until `vector` has arrived on `vcpu` more than `seen` times; false after
/// `TIMEOUT_CYCLES` of polling (a halted receiver waits for the interrupt itself).
pub fn arrival(vcpu: usize, vector: u8, seen: u32, wait: Wait) -> bool {
    let start = cpu::rdtsc();
    loop {
        cpu::disable_interrupts();
        if idt::arrivals(vcpu, vector) > seen {
            return true;
        }
        if cpu::rdtsc().wrapping_sub(start) > TIMEOUT_CYCLES {
            return false;
        }
        match wait {
            Wait::Poll => {
                cpu::enable_interrupts();
                core::hint::spin_loop();
            }
            Wait::Halt => cpu::enable_interrupts_and_halt(),
        }
    }
}

/// Lets interrupts in for `cycles` TSC cycles (stragglers arrive and are counted), then masks them.
pub fn quiet(cycles: u64) {
    cpu::enable_interrupts();
    tessera_guest::time::delay(cycles);
    cpu::disable_interrupts();
}
