//! Every branch of the route decision, against a partition with four vCPUs and two routes.

use std::string::ToString;
use std::vec::Vec;

use super::*;

/// Partition 1: vCPUs with virtual APIC IDs 4, 5, 6, 0x13. APIC ID 8 is partition 2's vCPU 0 over an
/// exitless route; APIC ID 9 is partition 3's vCPU 1 over a trapped route allowing only vector 0x40.
pub(super) struct View;

const OWN_APIC_IDS: [u32; 4] = [4, 5, 6, 0x13];

impl RoutingView for View {
    fn partition(&self) -> u16 {
        1
    }
    fn vcpu_count(&self) -> u16 {
        OWN_APIC_IDS.len() as u16
    }
    fn virtual_apic_id(&self, vcpu: u16) -> u32 {
        OWN_APIC_IDS[vcpu as usize]
    }
    fn peer(&self, apic_id: u32) -> Option<Peer> {
        let allow_0x40 = VectorSet::EMPTY.with(0x40);
        match apic_id {
            8 => Some(Peer {
                target: VcpuRef {
                    partition: 2,
                    vcpu: 0,
                },
                route: RouteKind::Exitless,
            }),
            9 => Some(Peer {
                target: VcpuRef {
                    partition: 3,
                    vcpu: 1,
                },
                route: RouteKind::Trapped(allow_0x40),
            }),
            _ => None,
        }
    }
}

const SENDER: u16 = 0;
const NMI: u64 = 4 << 8;
const INIT: u64 = 5 << 8;
const STARTUP: u64 = 6 << 8;
const LEVEL_ASSERT: u64 = 1 << 14;
const LEVEL_TRIGGER: u64 = 1 << 15;
const LOGICAL: u64 = 1 << 11;
const SELF: u64 = 1 << 18;
const ALL_INCLUDING: u64 = 2 << 18;
const ALL_EXCLUDING: u64 = 3 << 18;

fn to(apic_id: u32) -> u64 {
    (apic_id as u64) << 32
}

fn run(raw: u64) -> Decision {
    decide(raw, SENDER, &View)
}

fn emulated(kind: EmulatedKind, targets: Targets) -> Decision {
    Decision::Emulate(Emulation { kind, targets })
}

#[test]
fn fixed_to_own_vcpu_is_delivered() {
    let expected = Decision::Deliver {
        target: VcpuRef {
            partition: 1,
            vcpu: 2,
        },
        vector: 0x30,
    };
    assert_eq!(run(to(6) | 0x30), expected);
    assert_eq!(
        run(to(6) | 1 << 8 | 0x30),
        expected,
        "lowest priority acts as fixed"
    );
}

#[test]
fn fixed_to_self_by_id_is_delivered_to_the_sender() {
    assert_eq!(
        run(to(4) | 0x31),
        Decision::Deliver {
            target: VcpuRef {
                partition: 1,
                vcpu: 0
            },
            vector: 0x31
        }
    );
}

#[test]
fn vectors_below_16_are_illegal() {
    assert_eq!(
        run(to(5) | 15),
        Decision::Deny(DenyReason::IllegalVector { vector: 15 })
    );
}

#[test]
fn reserved_bits_raise_gp() {
    assert_eq!(run(to(5) | 0x30 | 1 << 13), Decision::GeneralProtection);
}

#[test]
fn nmi_init_startup_to_own_vcpu_are_emulated() {
    assert_eq!(
        run(to(5) | NMI),
        emulated(EmulatedKind::Nmi, Targets::Vcpu(1))
    );
    assert_eq!(
        run(to(5) | INIT | LEVEL_ASSERT),
        emulated(EmulatedKind::Init, Targets::Vcpu(1))
    );
    assert_eq!(
        run(to(5) | INIT | LEVEL_TRIGGER),
        emulated(EmulatedKind::InitDeassert, Targets::Vcpu(1))
    );
    assert_eq!(
        run(to(5) | STARTUP | 0x9A),
        emulated(EmulatedKind::StartUp { vector: 0x9A }, Targets::Vcpu(1))
    );
}

#[test]
fn smi_and_reserved_modes_are_denied() {
    assert!(matches!(
        run(to(5) | 2 << 8),
        Decision::Deny(DenyReason::UnsupportedDeliveryMode { .. })
    ));
    assert!(matches!(
        run(to(5) | 7 << 8 | 0x30),
        Decision::Deny(DenyReason::UnsupportedDeliveryMode { .. })
    ));
}

#[test]
fn self_shorthand_reaches_only_the_sender() {
    let decision = decide(SELF | 0x50, 3, &View);
    assert_eq!(
        decision,
        emulated(EmulatedKind::Fixed { vector: 0x50 }, Targets::Vcpu(3))
    );
    assert!(matches!(
        run(SELF | NMI),
        Decision::Deny(DenyReason::InvalidShorthand { .. })
    ));
}

#[test]
fn all_including_self_stays_in_the_partition() {
    let Decision::Emulate(emulation) = run(ALL_INCLUDING | 0x50) else {
        panic!()
    };
    assert_eq!(
        emulation.targets.iter(SENDER, &View).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(matches!(
        run(ALL_INCLUDING | INIT | LEVEL_ASSERT),
        Decision::Deny(DenyReason::InvalidShorthand { .. })
    ));
}

#[test]
fn all_excluding_self_skips_the_sender() {
    let Decision::Emulate(emulation) = decide(ALL_EXCLUDING | INIT | LEVEL_ASSERT, 1, &View) else {
        panic!()
    };
    assert_eq!(emulation.kind, EmulatedKind::Init);
    assert_eq!(
        emulation.targets.iter(1, &View).collect::<Vec<_>>(),
        [0, 2, 3]
    );
}

#[test]
fn physical_broadcast_stays_in_the_partition() {
    assert_eq!(
        run(to(BROADCAST) | 0x60),
        emulated(
            EmulatedKind::Fixed { vector: 0x60 },
            Targets::AllIncludingSender
        )
    );
}

#[test]
fn logical_mode_selects_own_vcpus_by_cluster_and_mask() {
    // Cluster 0, bits 4 and 6: APIC IDs 4 and 6 (vCPUs 0 and 2); cluster 1 bit 3 is APIC ID 0x13.
    let Decision::Emulate(emulation) = run(LOGICAL | to(0x0000_0050) | 0x70) else {
        panic!()
    };
    assert_eq!(
        emulation.targets.iter(SENDER, &View).collect::<Vec<_>>(),
        [0, 2]
    );
    let Decision::Emulate(cluster1) = run(LOGICAL | to(0x0001_0008) | 0x70) else {
        panic!()
    };
    assert_eq!(
        cluster1.targets.iter(SENDER, &View).collect::<Vec<_>>(),
        [3]
    );
}

#[test]
fn logical_mode_matching_nobody_is_denied() {
    // Bit 8 of cluster 0 is APIC ID 8: partition 2's vCPU, never reachable in logical mode.
    assert_eq!(
        run(LOGICAL | to(0x0000_0100) | 0x70),
        Decision::Deny(DenyReason::NoLogicalTarget { destination: 0x100 })
    );
}

#[test]
fn exitless_route_delivers_any_vector() {
    assert_eq!(
        run(to(8) | 0xEE),
        Decision::Deliver {
            target: VcpuRef {
                partition: 2,
                vcpu: 0
            },
            vector: 0xEE
        }
    );
}

#[test]
fn trapped_route_filters_vectors() {
    assert_eq!(
        run(to(9) | 0x40),
        Decision::Deliver {
            target: VcpuRef {
                partition: 3,
                vcpu: 1
            },
            vector: 0x40
        }
    );
    assert_eq!(
        run(to(9) | 0x41),
        Decision::Deny(DenyReason::VectorNotAllowed {
            apic_id: 9,
            vector: 0x41
        })
    );
}

#[test]
fn nmi_init_startup_never_cross_partitions() {
    for mode in [NMI, INIT | LEVEL_ASSERT, STARTUP | 0x10] {
        assert!(matches!(
            run(to(8) | mode),
            Decision::Deny(DenyReason::CrossPartitionMode { apic_id: 8, .. })
        ));
    }
}

#[test]
fn unknown_destinations_are_denied() {
    for apic_id in [0, 7, 10, 0x12, 0xFFFF_FFFE] {
        assert_eq!(
            run(to(apic_id) | 0x30),
            Decision::Deny(DenyReason::NoRoute { apic_id })
        );
    }
}

#[test]
fn deny_reasons_read_as_sentences() {
    let text = DenyReason::VectorNotAllowed {
        apic_id: 9,
        vector: 0x41,
    }
    .to_string();
    assert_eq!(
        text,
        "vector 65 to APIC ID 9 is not in the trapped route's allow-list"
    );
    assert_eq!(
        DenyReason::NoRoute { apic_id: 7 }.to_string(),
        "APIC ID 7 is neither in the partition nor on a route"
    );
    assert_eq!(
        DenyReason::InvalidShorthand {
            shorthand: Shorthand::AllExcludingSelf,
            delivery: DeliveryMode::StartUp,
        }
        .to_string(),
        "shorthand all excluding self cannot carry a start-up IPI"
    );
    assert_eq!(
        DenyReason::UnsupportedDeliveryMode {
            delivery: DeliveryMode::Reserved(0b111),
        }
        .to_string(),
        "delivery mode reserved (0b111) not allowed"
    );
}
