//! The first case: the target guest and its host both run with IF = 0 (the guest spins until it is
//! released). Under "external-interrupt exiting" IF does not block external interrupts, so the
//! posted-interrupt notification must still be processed in the guest, without a VM exit: PIR[V]
//! moves to the virtual IRR and ON clears, before the guest sets IF. Bochs 3.0 kept the host's
//! interrupt mask across VM entry when IF was 0 on both sides (fix 3 of ipiv.patch), so the
//! notification waited for the guest's STI.

use crate::cases::Case;
use crate::delivery::{deliveries, virtual_irr, DELIVERY_TIMEOUT_SPINS, QUIET_SPINS};
use crate::guest::TARGET_RELEASE;
use crate::shared::{TARGET_PID, TARGET_VAPIC};
use core::sync::atomic::Ordering;
use tessera_arch::smp::spin;

/// Checks the case after the sender's WRMSR (with `sender_exits` APIC-write exits), then releases
/// the target guest, which must then run the vector's handler exactly once.
pub fn check(case: &Case, sender_exits: u32) -> Result<&'static str, &'static str> {
    let vector = case.vector();
    let processed = wait_for(|| {
        !TARGET_PID.pending(vector)
            && !TARGET_PID.outstanding()
            && virtual_irr(&TARGET_VAPIC, vector)
    });
    let early = deliveries(case);
    TARGET_RELEASE.store(1, Ordering::SeqCst);
    wait_for(|| deliveries(case) >= 1);
    spin(QUIET_SPINS);
    if sender_exits != 0 {
        return Err("the sender took an APIC-write exit");
    }
    if early != 0 {
        return Err("the target guest took the vector while IF = 0");
    }
    match (processed, deliveries(case)) {
        (true, 1) => Ok("no exit; with IF = 0 in the virtual IRR, handled once after STI"),
        (false, 1) => Err("notification held while IF = 0; processed only after the guest's STI"),
        (false, _) => Err("notification not processed while IF = 0, nor delivered after STI"),
        (true, 0) => Err("in the virtual IRR, but not delivered after STI"),
        (true, _) => Err("the target guest saw the vector more than once"),
    }
}

/// Polls `done` until it holds or the delivery timeout passes; whether it held.
fn wait_for(done: impl Fn() -> bool) -> bool {
    for _ in 0..DELIVERY_TIMEOUT_SPINS / 1000 {
        if done() {
            return true;
        }
        spin(1000);
    }
    done()
}
