//! Denied IPIs: the `denier` sends a fixed IPI with every eligible vector (16..=255) to every
//! virtual APIC ID that is neither its own partition's nor reachable over a route: the IDs up to
//! three past the highest one it knows (so past the end of its PID-pointer table) and a few far
//! beyond. None may arrive anywhere: every other vCPU of the scenario (`watch`) counts what it
//! receives until `DEADLINE_CYCLES`, and the denier finishes well before it. Each IPI must take
//! exactly one exit and be counted as denied by the hypervisor.

use crate::probe;
use crate::wait;
use tessera_guest::exits::Meter;
use tessera_guest::{apic, cpu, fail, hypercall, idt, println, BootInfo, TestResult};

/// The TSC value until which watchers count arrivals; the denier must be done by half of it.
pub const DEADLINE_CYCLES: u64 = 2_400_000_000;
/// IDs far beyond any PID-pointer table (0xFFFF_FFFF is the broadcast ID, not a target).
const FAR_IDS: [u32; 4] = [0xFF, 0x1FF, 0xFFFF, 0xFFFF_FFFE];
/// IDs tried past the highest known one.
const PAST_LAST: u32 = 3;

/// Whether `id` is a target: not own, not routed.
pub fn is_target(id: u32, known: &[u32]) -> bool {
    !known.contains(&id)
}

/// The IDs the denier sends to, given the IDs it may reach (`known`, non-empty).
pub fn targets(known: &[u32]) -> impl Iterator<Item = u32> + '_ {
    let highest = known.iter().copied().max().unwrap_or(0);
    (0..=highest + PAST_LAST)
        .chain(FAR_IDS)
        .filter(move |&id| is_target(id, known))
}

/// The denier's sweep.
pub fn deny(info: &BootInfo) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    let ipiv = probe::ipiv_on(vcpu)?;
    let mut known = heapless::Vec::<u32, 64>::new();
    for peer in info.peers() {
        let _ = known.push(peer.virtual_apic_id);
    }
    let baseline = idt::total_arrivals(vcpu);
    let denied_before = hypercall::denied_ipis()?;
    let meter = Meter::start()?;
    let mut ipis = 0u64;
    for id in targets(&known) {
        for vector in 16..=255u8 {
            apic::send_fixed(id, vector);
            ipis += 1;
        }
    }
    let exits = meter.stop()?;
    let denied = hypercall::denied_ipis()? - denied_before;
    if cpu::rdtsc() > DEADLINE_CYCLES / 2 {
        return fail!(
            "the sweep ended at TSC {}, past half the watchers' deadline",
            cpu::rdtsc()
        );
    }
    wait::quiet(1_000_000);
    let delivered = idt::total_arrivals(vcpu) - baseline;
    println!(
        "SUMMARY scenario=ipi-denied ipiv={} ipis={ipis} denied={denied} delivered={delivered} sender_exits={} receiver_exits={} ",
        probe::ipiv_name(ipiv),
        exits.sends(),
        exits.others()
    );
    Ok(())
}

/// A vCPU of scenario `scenario` that must receive nothing until `DEADLINE_CYCLES`.
pub fn watch(info: &BootInfo, scenario: &str) -> TestResult {
    let vcpu = info.vcpu_index as usize;
    let baseline = idt::total_arrivals(vcpu);
    cpu::enable_interrupts();
    while cpu::rdtsc() < DEADLINE_CYCLES {
        core::hint::spin_loop();
    }
    cpu::disable_interrupts();
    let arrivals = idt::total_arrivals(vcpu) - baseline;
    println!(
        "SUMMARY scenario={scenario} watcher={} vcpu={vcpu} arrivals={arrivals} ",
        info.name()
    );
    if arrivals != 0 {
        return fail!("{arrivals} denied IPIs arrived");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_skip_known_ids_and_go_past_the_last() {
        let known = [2, 3, 0];
        let ids: Vec<u32> = targets(&known).collect();
        assert_eq!(ids, [1, 4, 5, 6, 0xFF, 0x1FF, 0xFFFF, 0xFFFF_FFFE]);
    }
}
