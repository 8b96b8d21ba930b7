//! The probe plan `cargo xtask latency` writes into this image's `.latency_plan` section, and
//! this vCPU's part in it: the probes it receives over a route with no way back come first (their
//! senders start on a schedule, not on a signal), then every other probe in plan order.

use core::sync::atomic::Ordering;
use tessera_guest::latency_plan::PLAN_BLOCK;
use tessera_latency_record::plan::{Place, Plan, PlanError, Probe, Route, PLAN_BYTES};

/// The plan in the image.
pub fn load() -> Result<Plan, PlanError> {
    let mut bytes = [0u8; PLAN_BYTES];
    for (byte, stored) in bytes.iter_mut().zip(PLAN_BLOCK.iter()) {
        *byte = stored.load(Ordering::Relaxed);
    }
    Plan::decode(&bytes)
}

/// Whether the receiver of `probe` cannot signal its sender (no route back).
pub fn one_way_only(probe: &Probe) -> bool {
    probe.route != Route::Intra && probe.reply_vector == 0
}

/// This vCPU's probes in the order it runs them.
pub fn my_probes<'a>(plan: &'a Plan, me: Place) -> impl Iterator<Item = &'a Probe> + 'a {
    let mine = move |p: &&Probe| p.sender == me || p.receiver == me;
    let scheduled_receives = plan
        .probes()
        .filter(mine)
        .filter(move |p| one_way_only(p) && p.receiver == me);
    let rest = plan
        .probes()
        .filter(mine)
        .filter(move |p| !(one_way_only(p) && p.receiver == me));
    scheduled_receives.chain(rest)
}
