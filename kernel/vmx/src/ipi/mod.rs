//! Guest IPIs: x2APIC ICR decoding, the IPIv eligibility test, and the route decision of the
//! software fallback path (issue 6; ipiv.md section 4).

mod decide;
mod icr;
mod route;
mod vectors;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod isolation_tests;

pub use decide::{decide, Decision, DenyReason, EmulatedKind, Emulation, Targets};
pub use icr::{
    logical_destination_matches, x2apic_logical_id, DeliveryMode, Icr, Shorthand, BROADCAST,
    ICR_DELIVERY_STATUS, ICR_RESERVED_LOW,
};
pub use route::{Peer, RouteKind, RoutingView, VcpuRef};
pub use vectors::VectorSet;
