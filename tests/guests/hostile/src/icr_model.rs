//! What an x2APIC ICR value written by a vCPU must do under Tessera's rules, worked out by the guest
//! from its boot info alone (an oracle for scenario `ipi-fuzz`, written from the SDM and the
//! README's route rules, not from the hypervisor's code): a #GP for reserved bits, a delivery
//! inside the own partition, a fixed IPI to a peer a route allows, or a denial the hypervisor counts.

use tessera_guest::{BootPeer, PeerRoute};

/// WRMSR 0x830 faults when any of bits 31:20, 17:16, 13 is set.
const RESERVED_LOW: u64 = 0xFFF0_0000 | 0x0003_0000 | 1 << 13;
const BROADCAST: u32 = 0xFFFF_FFFF;

/// The fate of one ICR value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// WRMSR raises #GP; nothing is sent or counted.
    Fault,
    /// Dropped and counted in the hypervisor's denied-IPI count.
    Denied,
    /// Stays inside the sender's partition (delivered, or ignored as bare metal ignores it).
    Own,
    /// A fixed IPI with `vector` to the peer with virtual APIC ID `apic_id`.
    Peer { apic_id: u32, vector: u8 },
}

/// The fate of ICR value `raw` written by the vCPU whose boot info lists `peers` (its own
/// partition's vCPUs and every vCPU its routes reach).
pub fn predict(raw: u64, peers: &[BootPeer]) -> Outcome {
    if raw & RESERVED_LOW != 0 {
        return Outcome::Fault;
    }
    let vector = raw as u8;
    let mode = (raw >> 8) & 7;
    let fixed_like = mode <= 1;
    // SMI and the reserved modes 011b, 111b; fixed or lowest priority with an illegal vector.
    if matches!(mode, 2 | 3 | 7) || (fixed_like && vector < 16) {
        return Outcome::Denied;
    }
    match (raw >> 18) & 3 {
        // Self and all-including-self carry fixed IPIs only.
        1 | 2 if mode == 0 => return Outcome::Own,
        1 | 2 => return Outcome::Denied,
        3 => return Outcome::Own,
        _ => {}
    }
    let destination = (raw >> 32) as u32;
    let own = |p: &&BootPeer| p.route == PeerRoute::OwnPartition as u32;
    if destination == BROADCAST {
        return Outcome::Own;
    }
    if raw & 1 << 11 != 0 {
        let selects = |p: &&BootPeer| logical_match(destination, p.virtual_apic_id);
        return match peers.iter().filter(own).any(|p| selects(&p)) {
            true => Outcome::Own,
            false => Outcome::Denied,
        };
    }
    let Some(peer) = peers.iter().find(|p| p.virtual_apic_id == destination) else {
        return Outcome::Denied;
    };
    if own(&peer) {
        return Outcome::Own;
    }
    let trapped = peer.route == PeerRoute::Trapped as u32;
    let allowed = peer.vectors[usize::from(vector / 64)] & 1 << (vector % 64) != 0;
    if !fixed_like || (trapped && !allowed) {
        return Outcome::Denied;
    }
    Outcome::Peer {
        apic_id: destination,
        vector,
    }
}

/// x2APIC logical destination: cluster in 31:16 equal, and the member bit of `apic_id` set.
fn logical_match(destination: u32, apic_id: u32) -> bool {
    let logical_id = (apic_id >> 4) << 16 | 1 << (apic_id & 0xF);
    destination >> 16 == logical_id >> 16 && destination & logical_id & 0xFFFF != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: u32, route: PeerRoute, vectors: [u64; 4]) -> BootPeer {
        BootPeer {
            virtual_apic_id: id,
            route: route as u32,
            vectors,
            ..BootPeer::EMPTY
        }
    }

    /// Own vCPU 0 (ID 0), an exitless peer (ID 1), a trapped peer (ID 2) allowing vector 0x70.
    fn peers() -> [BootPeer; 3] {
        let all = [!0xFFFF, !0, !0, !0];
        [
            peer(0, PeerRoute::OwnPartition, all),
            peer(1, PeerRoute::Exitless, all),
            peer(2, PeerRoute::Trapped, [0, 1 << (0x70 - 64), 0, 0]),
        ]
    }

    fn at(id: u32, low: u64) -> u64 {
        u64::from(id) << 32 | low
    }

    #[test]
    fn reserved_bits_fault_before_anything_else() {
        assert_eq!(predict(at(1, 0x40 | 1 << 13), &peers()), Outcome::Fault);
        assert_eq!(predict(at(1, 0x40 | 1 << 20), &peers()), Outcome::Fault);
    }

    #[test]
    fn only_fixed_ipis_cross_and_trapped_routes_filter_vectors() {
        let p = peers();
        assert_eq!(
            predict(at(1, 0x40), &p),
            Outcome::Peer {
                apic_id: 1,
                vector: 0x40
            }
        );
        assert_eq!(
            predict(at(1, 0x140), &p),
            Outcome::Peer {
                apic_id: 1,
                vector: 0x40
            },
            "lowest priority"
        );
        assert_eq!(predict(at(1, 0x400), &p), Outcome::Denied, "NMI");
        assert_eq!(predict(at(1, 0x500), &p), Outcome::Denied, "INIT");
        assert_eq!(
            predict(at(2, 0x70), &p),
            Outcome::Peer {
                apic_id: 2,
                vector: 0x70
            }
        );
        assert_eq!(predict(at(2, 0x71), &p), Outcome::Denied);
        assert_eq!(predict(at(3, 0x40), &p), Outcome::Denied, "no route");
        assert_eq!(predict(at(1, 0x0F), &p), Outcome::Denied, "illegal vector");
        assert_eq!(predict(at(1, 0x240), &p), Outcome::Denied, "SMI");
    }

    #[test]
    fn shorthands_broadcast_and_logical_stay_home() {
        let p = peers();
        assert_eq!(predict(at(7, 0x40 | 1 << 18), &p), Outcome::Own, "self");
        assert_eq!(
            predict(at(7, 0x440 | 1 << 18), &p),
            Outcome::Denied,
            "self NMI"
        );
        assert_eq!(
            predict(at(7, 0x400 | 3 << 18), &p),
            Outcome::Own,
            "NMI to all but self"
        );
        assert_eq!(predict(at(BROADCAST, 0x500), &p), Outcome::Own);
        assert_eq!(
            predict(at(0x0000_0001, 0x840), &p),
            Outcome::Own,
            "logical ID of 0"
        );
        assert_eq!(
            predict(at(0x0000_0002, 0x840), &p),
            Outcome::Denied,
            "logical ID of 1"
        );
        assert_eq!(predict(at(0, 0x400), &p), Outcome::Own, "NMI to itself");
    }
}
