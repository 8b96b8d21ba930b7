//! IPIs inside a partition that IPIv leaves to the hypervisor (or to virtual-interrupt delivery):
//! the self, all-including-self and all-excluding-self shorthands, the broadcast ID, logical
//! destinations, NMIs (to vCPU 1, to all others, to vCPU 1 again), the SELF IPI register and a
//! unicast to the sender's own ID. vCPU 0 of `local` sends each case in turn and checks which of
//! the partition's vCPUs took it, and how many times (once each, as on bare metal); vCPUs 1 and
//! 2 count with interrupts on. A `bystander` partition must receive nothing. SUMMARY lines give
//! each case's exits.

use crate::probe;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tessera_guest::exits::Meter;
use tessera_guest::{apic, cpu, fail, idt, println, time, BootInfo, PeerRoute, TestResult};

/// Receivers of the partition that are counting.
static READY: AtomicU32 = AtomicU32::new(0);
/// Set by vCPU 0 when every case is done.
static DONE: AtomicBool = AtomicBool::new(false);
/// vCPUs of `local` (vCPU 0 sends, all three may receive).
pub const VCPUS: usize = 3;
const NMI_VECTOR: u8 = 2;
const X2APIC_SELF_IPI: u32 = 0x83F;
const FIXED: u64 = 0;
const NMI: u64 = 0b100 << 8;
const LOGICAL: u64 = 1 << 11;
const ASSERT: u64 = 1 << 14;
const SELF: u64 = 0b01 << 18;
const ALL_INCLUDING_SELF: u64 = 0b10 << 18;
const ALL_EXCLUDING_SELF: u64 = 0b11 << 18;
const BROADCAST: u32 = 0xFFFF_FFFF;
/// TSC cycles a case may take to arrive.
const CASE_TIMEOUT_CYCLES: u64 = 200_000_000;
/// TSC cycles of quiet after a case, in which no duplicate may arrive.
const SETTLE_CYCLES: u64 = 2_000_000;

/// How a case is sent.
#[derive(Clone, Copy, Debug)]
enum Send {
    Icr(u64),
    SelfIpiRegister(u8),
}

/// One case: its name, how it is sent, the vector it arrives as, and the vCPUs that take it.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    send: Send,
    vector: u8,
    targets: [bool; VCPUS],
}

/// The x2APIC logical ID of `apic_id`: cluster (ID >> 4) in bits 31:16, one bit of 16 below.
pub const fn logical_id(apic_id: u32) -> u32 {
    (apic_id >> 4) << 16 | 1 << (apic_id & 0xF)
}

fn cases(ids: [u32; VCPUS]) -> [Case; 10] {
    let icr = |bits: u64, destination: u32, vector: u8| {
        Send::Icr(u64::from(destination) << 32 | ASSERT | bits | u64::from(vector))
    };
    let case = |name, send, vector, targets| Case {
        name,
        send,
        vector,
        targets,
    };
    let (all, others, me) = ([true; 3], [false, true, true], [true, false, false]);
    [
        case("self", icr(SELF, 0, 0x50), 0x50, me),
        case("all_incl", icr(ALL_INCLUDING_SELF, 0, 0x51), 0x51, all),
        case("all_excl", icr(ALL_EXCLUDING_SELF, 0, 0x52), 0x52, others),
        case("broadcast", icr(FIXED, BROADCAST, 0x53), 0x53, all),
        case(
            "logical",
            icr(LOGICAL, logical_id(ids[1]), 0x54),
            0x54,
            [false, true, false],
        ),
        case("self_msr", Send::SelfIpiRegister(0x55), 0x55, me),
        case("unicast_self", icr(FIXED, ids[0], 0x56), 0x56, me),
        case("nmi", icr(NMI, ids[1], 0), NMI_VECTOR, [false, true, false]),
        case(
            "nmi_all_excl",
            icr(NMI | ALL_EXCLUDING_SELF, 0, 0),
            NMI_VECTOR,
            others,
        ),
        case(
            "nmi_again",
            icr(NMI, ids[1], 0),
            NMI_VECTOR,
            [false, true, false],
        ),
    ]
}

/// vCPU 0: sends every case and checks where it arrived.
pub fn drive(info: &BootInfo) -> TestResult {
    let Some(ids) = partition_ids(info) else {
        return fail!("`local` needs exactly {VCPUS} vCPUs");
    };
    let ipiv = probe::ipiv_on(0)?;
    let others = (VCPUS - 1) as u32;
    if !time::wait_until(CASE_TIMEOUT_CYCLES, || {
        READY.load(Ordering::Acquire) == others
    }) {
        return fail!("the receivers did not get ready");
    }
    let mut line = heapless::String::<256>::new();
    let _ = core::fmt::write(
        &mut line,
        format_args!("SUMMARY scenario=ipi-local ipiv={}", probe::ipiv_name(ipiv)),
    );
    for case in cases(ids) {
        let sender_exits = run_case(case)?;
        let _ = core::fmt::write(&mut line, format_args!(" {}={sender_exits}", case.name));
    }
    DONE.store(true, Ordering::Release);
    println!("{line} ");
    Ok(())
}

/// Sends `case`, checks that each vCPU took it the expected number of times; its sender exits.
fn run_case(case: Case) -> Result<u64, tessera_guest::Failure> {
    let before_counts: [u32; VCPUS] = core::array::from_fn(|v| idt::arrivals(v, case.vector));
    let meter = Meter::start()?;
    match case.send {
        Send::Icr(value) => apic::write_icr(value),
        Send::SelfIpiRegister(vector) => cpu::write_x2apic(X2APIC_SELF_IPI, u64::from(vector)),
    }
    let exits = meter.stop()?;
    let expected: [u32; VCPUS] =
        core::array::from_fn(|v| before_counts[v] + u32::from(case.targets[v]));
    let arrived = || (0..VCPUS).all(|v| idt::arrivals(v, case.vector) >= expected[v]);
    cpu::enable_interrupts();
    let complete = time::wait_until(CASE_TIMEOUT_CYCLES, arrived);
    time::delay(SETTLE_CYCLES);
    cpu::disable_interrupts();
    let counts: [u32; VCPUS] = core::array::from_fn(|v| idt::arrivals(v, case.vector));
    if !complete || counts != expected {
        return Err(tessera_guest::Failure::new(format_args!(
            "{}: vector {:#x} counts {counts:?}, expected {expected:?}",
            case.name, case.vector
        )));
    }
    Ok(exits.sends())
}

/// vCPUs 1 and 2: count with interrupts on until vCPU 0 is done, and report their own exits.
pub fn receive(info: &BootInfo) -> TestResult {
    let meter = Meter::start()?;
    READY.fetch_add(1, Ordering::AcqRel);
    cpu::enable_interrupts();
    while !DONE.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    cpu::disable_interrupts();
    let exits = meter.stop()?;
    let vcpu = info.vcpu_index as usize;
    println!(
        "SUMMARY scenario=ipi-local receiver={vcpu} nmis={} receiver_exits={} ",
        idt::arrivals(vcpu, NMI_VECTOR),
        exits.total()
    );
    Ok(())
}

/// The virtual APIC IDs of vCPUs 0..VCPUS of this partition.
fn partition_ids(info: &BootInfo) -> Option<[u32; VCPUS]> {
    if info.vcpu_count as usize != VCPUS {
        return None;
    }
    let mut ids = [u32::MAX; VCPUS];
    let own = info
        .peers()
        .iter()
        .filter(|p| p.route == PeerRoute::OwnPartition as u32);
    for peer in own {
        *ids.get_mut(usize::from(peer.vcpu_index))? = peer.virtual_apic_id;
    }
    ids.iter().all(|&id| id != u32::MAX).then_some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_follow_the_x2apic_cluster_model() {
        assert_eq!(logical_id(0), 1);
        assert_eq!(logical_id(3), 1 << 3);
        assert_eq!(logical_id(0x21), 2 << 16 | 1 << 1);
    }

    #[test]
    fn every_case_names_its_targets() {
        for case in cases([4, 5, 6]) {
            assert!(case.targets.iter().any(|&t| t), "{}", case.name);
        }
        let logical = cases([4, 5, 6])[4];
        assert!(matches!(logical.send, Send::Icr(v) if v >> 32 == 1 << 5 && v & LOGICAL != 0));
    }
}
