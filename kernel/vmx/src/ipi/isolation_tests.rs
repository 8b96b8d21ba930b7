//! The isolation property of the route decision over many pseudo-random ICR values.

use super::decide_tests::View;
use super::*;

/// The isolation property over many pseudo-random ICR values (every bit pattern class is hit):
/// a delivery goes to an own vCPU or to a routed peer whose route lets the vector through, and an
/// emulation targets what the ICR addressed: the own vCPU with the physical destination's APIC ID
/// (never a peer's), the sender for the self shorthand, the partition for a shorthand or
/// broadcast, the logical destination in logical mode.
#[test]
fn no_icr_value_reaches_outside_the_partition_and_its_routes() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let interesting_ids = [4u64, 5, 6, 0x13, 8, 9, 7, 0xFFFF_FFFF, 0x0001_0008, 0x50];
    let mut seen = Outcomes::default();
    for i in 0..200_000u64 {
        let random = next();
        // Half the values keep reserved bits (#GP), half have them cleared.
        let reserved_mask = if i % 2 == 0 {
            !u64::from(ICR_RESERVED_LOW)
        } else {
            u64::MAX
        };
        let low = random & 0xFFFF_FFFF & reserved_mask;
        let destination = if i % 3 == 0 {
            random >> 32
        } else {
            interesting_ids[(i % 10) as usize]
        };
        let raw = destination << 32 | low;
        let sender = (i % 4) as u16;
        check_isolated(raw, sender, decide(raw, sender, &View), &mut seen);
    }
    let all_reached =
        seen.own > 0 && seen.peer > 0 && seen.emulated > 0 && seen.denied > 0 && seen.faults > 0;
    assert!(all_reached, "{seen:?}");
}

/// Counts of each outcome, so the test can show every branch was reached.
#[derive(Default, Debug)]
struct Outcomes {
    own: u32,
    peer: u32,
    emulated: u32,
    denied: u32,
    faults: u32,
}

fn check_isolated(raw: u64, sender: u16, decision: Decision, seen: &mut Outcomes) {
    match decision {
        Decision::Deliver { target, vector } if target.partition == 1 => {
            assert!(target.vcpu < 4 && vector >= 16, "{raw:#x}: {decision:?}");
            seen.own += 1;
        }
        Decision::Deliver { target, vector } => {
            let peer = View
                .peer((raw >> 32) as u32)
                .expect("delivered to a peer without a route");
            assert_eq!(peer.target, target, "{raw:#x}");
            if let RouteKind::Trapped(allowed) = peer.route {
                assert!(
                    allowed.contains(vector),
                    "{raw:#x}: vector outside the allow-list"
                );
            }
            let delivery = Icr::decode(raw).delivery;
            let fixed = matches!(delivery, DeliveryMode::Fixed | DeliveryMode::LowestPriority);
            assert!(
                fixed,
                "{raw:#x}: only fixed (or single-target lowest-priority) IPIs cross"
            );
            seen.peer += 1;
        }
        Decision::Emulate(emulation) => {
            check_emulated_targets(raw, sender, emulation.targets);
            seen.emulated += 1;
        }
        Decision::Deny(_) => seen.denied += 1,
        Decision::GeneralProtection => seen.faults += 1,
    }
}

/// An emulation's targets are the ones the ICR addressed. (`Targets::iter` only yields indices
/// below the partition's vCPU count, so the raw target is checked, not what `iter` yields.)
fn check_emulated_targets(raw: u64, sender: u16, targets: Targets) {
    let icr = Icr::decode(raw);
    let everyone = matches!(
        icr.shorthand,
        Shorthand::AllIncludingSelf | Shorthand::AllExcludingSelf
    ) || (!icr.logical && icr.destination == BROADCAST);
    match targets {
        Targets::Vcpu(vcpu) if icr.shorthand == Shorthand::SelfOnly => {
            assert_eq!(
                vcpu, sender,
                "{raw:#x}: the self shorthand reaches the sender"
            )
        }
        Targets::Vcpu(vcpu) => {
            assert!(
                vcpu < View.vcpu_count(),
                "{raw:#x}: vCPU {vcpu} is not the partition's"
            );
            assert!(!icr.logical && icr.shorthand == Shorthand::None, "{raw:#x}");
            assert_eq!(
                View.virtual_apic_id(vcpu),
                icr.destination,
                "{raw:#x}: the emulated vCPU is the one addressed"
            );
        }
        Targets::Logical(destination) => {
            assert!(icr.logical && icr.shorthand == Shorthand::None, "{raw:#x}");
            assert_eq!(destination, icr.destination, "{raw:#x}");
        }
        Targets::AllIncludingSender | Targets::AllExcludingSender => {
            assert!(
                everyone,
                "{raw:#x}: {targets:?} without a shorthand or broadcast"
            )
        }
    }
}
