//! A trapped route: the `trapper` sends a fixed IPI with every eligible vector (16..=255) to the
//! `trapped` partition's vCPU over a trapped route whose allow-list is `ALLOWED` (the scenario's
//! manifest says the same; the trapper checks its boot info). Every IPI takes one exit; the
//! allowed vectors arrive once each, the others are dropped and counted as denied.

use crate::probe;
use crate::wait::{self, Wait};
use tessera_guest::exits::Meter;
use tessera_guest::{apic, cpu, fail, hypercall, idt, println, BootInfo, PeerRoute, TestResult};

/// The route's allow-list (tests/scenarios/ipi-trapped.toml).
pub const ALLOWED: [u8; 5] = [0x30, 0x41, 0x42, 0x80, 0xFE];
/// TSC cycles the receiver keeps counting after the last allowed vector.
const QUIET_CYCLES: u64 = 20_000_000;

/// The allow-list as the boot info's vector bitmap.
pub fn allowed_bitmap() -> [u64; 4] {
    let mut words = [0u64; 4];
    for vector in ALLOWED {
        words[usize::from(vector / 64)] |= 1 << (vector % 64);
    }
    words
}

/// The sender's sweep over the trapped route.
pub fn send(info: &BootInfo) -> TestResult {
    let trapped = PeerRoute::Trapped as u32;
    let Some(peer) = info.peers().iter().find(|p| p.route == trapped) else {
        return fail!("no trapped route in the boot info");
    };
    if peer.vectors != allowed_bitmap() {
        return fail!(
            "the route allows {:x?}, the test expects {ALLOWED:x?}",
            peer.vectors
        );
    }
    let ipiv = probe::ipiv_on(info.vcpu_index as usize)?;
    let denied_before = hypercall::denied_ipis()?;
    let meter = Meter::start()?;
    for vector in 16..=255u8 {
        apic::send_fixed(peer.virtual_apic_id, vector);
    }
    let exits = meter.stop()?;
    let denied = hypercall::denied_ipis()? - denied_before;
    println!(
        "SUMMARY scenario=ipi-trapped side=sender ipiv={} ipis=240 denied={denied} passed={} sender_exits={} receiver_exits={} ",
        probe::ipiv_name(ipiv),
        240 - denied,
        exits.sends(),
        exits.others()
    );
    Ok(())
}

/// The receiver: waits (halted) for every allowed vector, then checks nothing else came.
pub fn receive(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    let meter = Meter::start()?;
    for vector in ALLOWED {
        wait::arrival(vcpu, vector, 0, Wait::Halt);
    }
    let exits = meter.stop()?;
    wait::quiet(QUIET_CYCLES);
    for vector in 0..=255u8 {
        let expected = u32::from(ALLOWED.contains(&vector));
        let arrived = idt::arrivals(vcpu, vector);
        if arrived != expected {
            return fail!("vector {vector:#x} arrived {arrived} times, expected {expected}");
        }
    }
    cpu::disable_interrupts();
    println!(
        "SUMMARY scenario=ipi-trapped side=receiver delivered={} receiver_exits={} ",
        idt::total_arrivals(vcpu),
        exits.total()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bitmap_holds_exactly_the_allowed_vectors() {
        let words = allowed_bitmap();
        let set: Vec<u8> = (0..=255u8)
            .filter(|&v| words[usize::from(v / 64)] >> (v % 64) & 1 == 1)
            .collect();
        assert_eq!(set, ALLOWED);
    }
}
