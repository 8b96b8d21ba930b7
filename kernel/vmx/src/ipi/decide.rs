//! The route decision for an ICR write that reaches the hypervisor (IPIv off, a trapped route, or a
//! value IPIv does not virtualize): deliver through the target's posted-interrupt descriptor, emulate
//! inside the sender's partition, or deny. Nothing a guest writes can reach a vCPU outside its own
//! partition except through a route, and only fixed IPIs ever cross partitions (a lowest-priority
//! IPI to one physical destination is delivered as fixed, as KVM does).

use core::fmt;

use super::icr::{logical_destination_matches, DeliveryMode, Icr, Shorthand, BROADCAST};
use super::route::{RouteKind, RoutingView, VcpuRef};

/// What the hypervisor does with one ICR write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Post `vector` into `target`'s posted-interrupt descriptor and send its notification.
    Deliver { target: VcpuRef, vector: u8 },
    /// Emulate inside the sender's partition.
    Emulate(Emulation),
    /// Drop and count.
    Deny(DenyReason),
    /// The value sets reserved bits: WRMSR raises #GP on bare metal, so inject #GP.
    GeneralProtection,
}

/// An IPI the hypervisor carries out itself, only towards vCPUs of the sender's partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emulation {
    pub kind: EmulatedKind,
    pub targets: Targets,
}

/// The event an emulated IPI delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulatedKind {
    /// Fixed or lowest-priority (treated as fixed): post `vector`.
    Fixed {
        vector: u8,
    },
    Nmi,
    /// INIT (assert): the target resets and waits for SIPI.
    Init,
    /// INIT level de-assert: has no effect on x2APIC processors; nothing to do.
    InitDeassert,
    /// Start-up IPI: the target starts in real mode at `vector << 12`.
    StartUp {
        vector: u8,
    },
}

/// Which of the partition's vCPUs an emulated IPI reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// One vCPU (a physical destination or the self shorthand).
    Vcpu(u16),
    AllIncludingSender,
    AllExcludingSender,
    /// Every vCPU whose x2APIC logical ID the destination selects.
    Logical(u32),
}

impl Targets {
    /// Whether vCPU `vcpu` of the partition is a target when `sender` sends.
    pub fn contains(&self, vcpu: u16, sender: u16, view: &impl RoutingView) -> bool {
        match *self {
            Targets::Vcpu(target) => vcpu == target,
            Targets::AllIncludingSender => true,
            Targets::AllExcludingSender => vcpu != sender,
            Targets::Logical(destination) => {
                logical_destination_matches(destination, view.virtual_apic_id(vcpu))
            }
        }
    }

    /// The partition's vCPU indices this IPI reaches, in ascending order.
    pub fn iter<'v, V: RoutingView>(
        &self,
        sender: u16,
        view: &'v V,
    ) -> impl Iterator<Item = u16> + 'v {
        let targets = *self;
        (0..view.vcpu_count()).filter(move |&vcpu| targets.contains(vcpu, sender, view))
    }
}

/// Why an IPI was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// Physical destination that is neither an own vCPU nor reachable through a route.
    NoRoute { apic_id: u32 },
    /// A trapped route exists but its allow-list does not hold the vector.
    VectorNotAllowed { apic_id: u32, vector: u8 },
    /// Fixed or lowest-priority vector below 16 (an APIC send error on bare metal).
    IllegalVector { vector: u8 },
    /// NMI, INIT or start-up towards another partition: only fixed IPIs cross partitions.
    CrossPartitionMode {
        apic_id: u32,
        delivery: DeliveryMode,
    },
    /// SMI or a reserved delivery mode.
    UnsupportedDeliveryMode { delivery: DeliveryMode },
    /// A shorthand with a delivery mode the SDM does not allow with it (Vol. 3A Table 11-3).
    InvalidShorthand {
        shorthand: Shorthand,
        delivery: DeliveryMode,
    },
    /// A logical destination that selects none of the partition's vCPUs.
    NoLogicalTarget { destination: u32 },
}

/// Decides what to do with the 64-bit x2APIC ICR value `raw` written by vCPU `sender` of `view`'s partition.
pub fn decide(raw: u64, sender: u16, view: &impl RoutingView) -> Decision {
    if Icr::reserved_bits_set(raw) {
        return Decision::GeneralProtection;
    }
    let icr = Icr::decode(raw);
    let kind = match emulated_kind(&icr) {
        Ok(kind) => kind,
        Err(reason) => return Decision::Deny(reason),
    };
    let emulate = |targets| Decision::Emulate(Emulation { kind, targets });
    match icr.shorthand {
        Shorthand::None => by_destination(&icr, kind, view),
        shorthand if !shorthand_allows(shorthand, icr.delivery) => {
            Decision::Deny(DenyReason::InvalidShorthand {
                shorthand,
                delivery: icr.delivery,
            })
        }
        Shorthand::SelfOnly => emulate(Targets::Vcpu(sender)),
        Shorthand::AllIncludingSelf => emulate(Targets::AllIncludingSender),
        Shorthand::AllExcludingSelf => emulate(Targets::AllExcludingSender),
    }
}

/// The event to deliver, or why the delivery mode or vector cannot be sent.
fn emulated_kind(icr: &Icr) -> Result<EmulatedKind, DenyReason> {
    match icr.delivery {
        DeliveryMode::Fixed | DeliveryMode::LowestPriority if icr.vector < 16 => {
            Err(DenyReason::IllegalVector { vector: icr.vector })
        }
        DeliveryMode::Fixed | DeliveryMode::LowestPriority => {
            Ok(EmulatedKind::Fixed { vector: icr.vector })
        }
        DeliveryMode::Nmi => Ok(EmulatedKind::Nmi),
        DeliveryMode::Init if icr.level_triggered && !icr.level_assert => {
            Ok(EmulatedKind::InitDeassert)
        }
        DeliveryMode::Init => Ok(EmulatedKind::Init),
        DeliveryMode::StartUp => Ok(EmulatedKind::StartUp { vector: icr.vector }),
        delivery => Err(DenyReason::UnsupportedDeliveryMode { delivery }),
    }
}

/// SDM Vol. 3A Table 11-3: self and all-including-self carry only fixed IPIs.
fn shorthand_allows(shorthand: Shorthand, delivery: DeliveryMode) -> bool {
    match shorthand {
        Shorthand::SelfOnly | Shorthand::AllIncludingSelf => delivery == DeliveryMode::Fixed,
        Shorthand::None | Shorthand::AllExcludingSelf => true,
    }
}

/// No shorthand: broadcast and logical stay in the partition; a physical ID is own, routed or denied.
fn by_destination(icr: &Icr, kind: EmulatedKind, view: &impl RoutingView) -> Decision {
    let emulate = |targets| Decision::Emulate(Emulation { kind, targets });
    if icr.destination == BROADCAST {
        return emulate(Targets::AllIncludingSender);
    }
    if icr.logical {
        let targets = Targets::Logical(icr.destination);
        return match targets.iter(0, view).next() {
            Some(_) => emulate(targets),
            None => Decision::Deny(DenyReason::NoLogicalTarget {
                destination: icr.destination,
            }),
        };
    }
    match (view.own_vcpu(icr.destination), kind) {
        (Some(vcpu), EmulatedKind::Fixed { vector }) => Decision::Deliver {
            target: VcpuRef {
                partition: view.partition(),
                vcpu,
            },
            vector,
        },
        (Some(vcpu), _) => emulate(Targets::Vcpu(vcpu)),
        (None, _) => to_peer(icr, kind, view),
    }
}

/// A physical destination outside the partition: only fixed IPIs over a route whose list has the vector.
fn to_peer(icr: &Icr, kind: EmulatedKind, view: &impl RoutingView) -> Decision {
    let apic_id = icr.destination;
    let Some(peer) = view.peer(apic_id) else {
        return Decision::Deny(DenyReason::NoRoute { apic_id });
    };
    let EmulatedKind::Fixed { vector } = kind else {
        return Decision::Deny(DenyReason::CrossPartitionMode {
            apic_id,
            delivery: icr.delivery,
        });
    };
    match peer.route {
        RouteKind::Trapped(allowed) if !allowed.contains(vector) => {
            Decision::Deny(DenyReason::VectorNotAllowed { apic_id, vector })
        }
        _ => Decision::Deliver {
            target: peer.target,
            vector,
        },
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DenyReason::NoRoute { apic_id } => {
                write!(
                    f,
                    "APIC ID {apic_id} is neither in the partition nor on a route"
                )
            }
            DenyReason::VectorNotAllowed { apic_id, vector } => {
                write!(
                    f,
                    "vector {vector} to APIC ID {apic_id} is not in the trapped route's allow-list"
                )
            }
            DenyReason::IllegalVector { vector } => write!(f, "illegal vector {vector} (below 16)"),
            DenyReason::CrossPartitionMode { apic_id, delivery } => {
                write!(f, "{delivery} IPI to APIC ID {apic_id} in another partition (only fixed IPIs cross)")
            }
            DenyReason::UnsupportedDeliveryMode { delivery } => {
                write!(f, "delivery mode {delivery} not allowed")
            }
            DenyReason::InvalidShorthand {
                shorthand,
                delivery,
            } => {
                write!(f, "shorthand {shorthand} cannot carry a {delivery} IPI")
            }
            DenyReason::NoLogicalTarget { destination } => {
                write!(
                    f,
                    "logical destination {destination:#x} selects no vCPU of the partition"
                )
            }
        }
    }
}
