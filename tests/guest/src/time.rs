//! Waiting with a bound, in time-stamp-counter cycles (emulated instructions in the emulator).

/// Polls `done` until it is true (returns true) or `timeout_cycles` pass (returns false).
pub fn wait_until(timeout_cycles: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = crate::cpu::rdtsc();
    loop {
        if done() {
            return true;
        }
        if crate::cpu::rdtsc().wrapping_sub(start) > timeout_cycles {
            return done();
        }
        core::hint::spin_loop();
    }
}

/// Spins for `cycles` TSC cycles.
pub fn delay(cycles: u64) {
    wait_until(cycles, || false);
}
