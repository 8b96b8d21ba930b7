//! Test guest `latency`: runs this vCPU's part of the probe plan that `cargo xtask latency` wrote
//! into the image (see `plan`), then prints everything it took as records (see `record`). One
//! image serves every partition of a manifest; each vCPU finds its probes by partition and vCPU
//! index. A vCPU of the noisy-neighbour partition loads the machine instead (see `noise`).
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod arena;
mod cpuinfo;
mod noise;
mod plan;
mod probe;
mod record;
mod sync;

use probe::Taken;
use sync::Arrivals;
use tessera_guest::exits::{self, ExitReason, Meter};
use tessera_guest::{apic, cpu, fail, BootInfo, Failure, PeerRoute, TestResult};
use tessera_latency_record::plan::{Place, Plan, Settings};
use tessera_latency_record::{Role, Wait};
use tessera_vmx::guest_abi::TimerPath;

tessera_guest::entry!(run);

/// Vector of the self-addressed IPI that tells whether IPIs stay in the guest (IPIv).
const IPIV_PROBE_VECTOR: u8 = 0x20;
/// Scheduled receives a vCPU holds before printing them.
const DEFERRED_MAX: usize = 16;

fn run(info: &'static BootInfo) -> TestResult {
    let start_tsc = cpu::rdtsc();
    let plan = match plan::load() {
        Ok(plan) => plan,
        Err(e) => {
            return fail!(
                "no usable probe plan in this image ({e:?}): `cargo xtask latency` writes one"
            )
        }
    };
    let me = Place {
        partition: info.partition_index as u16,
        vcpu: info.vcpu_index as u16,
    };
    if info.vcpu_index == 0 {
        start_siblings(info);
    }
    tessera_guest::timer::enable_apic();
    if me.partition == plan.settings.noise_partition {
        return noise::run(info, &plan.settings, start_tsc);
    }
    let mut arrivals = Arrivals::new(info.vcpu_index as usize, start_tsc);
    let ipiv = ipiv_on(&mut arrivals)?;
    let mut stream = record::Stream::new(info.vcpu_index);
    let mut brand = [0u8; 48];
    let tsc = cpuinfo::tsc_frequency();
    let timer_virtualized = info.timer_path == TimerPath::Virtualized as u32;
    let paths = (ipiv, timer_virtualized);
    let brand = cpuinfo::brand(&mut brand);
    record::start(&mut stream, paths, &tsc, &plan.settings, brand);
    run_probes(info, &plan, me, &mut arrivals, &mut stream, paths)?;
    let counters = exits::counters()?;
    record::end(&mut stream, &counters);
    Ok(())
}

/// Runs this vCPU's probes; scheduled receives are printed together once the last is done.
fn run_probes(
    info: &BootInfo,
    plan: &Plan,
    me: Place,
    arrivals: &mut Arrivals,
    stream: &mut record::Stream,
    paths: (bool, bool),
) -> TestResult {
    let mut region = arena::Region::of(info.vcpu_index as usize, info.vcpu_count as usize);
    let mark = region.mark();
    let mut deferred: heapless::Vec<Taken, DEFERRED_MAX> = heapless::Vec::new();
    for probe in plan::my_probes(plan, me) {
        let role = probe::role_in(probe, me);
        let taken = probe::run(info, &plan.settings, probe, role, arrivals, &mut region)?;
        if role == Role::Receive && plan::one_way_only(probe) {
            if deferred.push(taken).is_err() {
                return fail!("more than {DEFERRED_MAX} scheduled probes to receive");
            }
            continue;
        }
        print_all(stream, &mut deferred, &plan.settings, paths);
        record::taken(stream, &taken, &plan.settings, paths);
        region.release_to(mark);
    }
    print_all(stream, &mut deferred, &plan.settings, paths);
    Ok(())
}

fn print_all(
    stream: &mut record::Stream,
    deferred: &mut heapless::Vec<Taken, DEFERRED_MAX>,
    settings: &Settings,
    paths: (bool, bool),
) {
    for taken in deferred.iter() {
        record::taken(stream, taken, settings, paths);
    }
    deferred.clear();
}

/// Starts every other vCPU of the partition (INIT and start-up IPIs; Tessera ignores them for a
/// vCPU already running).
fn start_siblings(info: &BootInfo) {
    let own = PeerRoute::OwnPartition as u32;
    for peer in info.peers() {
        if peer.route == own && u32::from(peer.vcpu_index) != info.vcpu_index {
            apic::start_vcpu(peer.virtual_apic_id);
        }
    }
}

/// Sends a fixed IPI to this vCPU's own APIC ID: no exit means the CPU virtualizes IPIs.
fn ipiv_on(arrivals: &mut Arrivals) -> Result<bool, Failure> {
    let meter = Meter::start()?;
    apic::send_fixed(apic::apic_id(), IPIV_PROBE_VECTOR);
    let exits = meter.stop()?;
    arrivals.next(IPIV_PROBE_VECTOR, Wait::Poll)?;
    cpu::disable_interrupts();
    match exits.of(ExitReason::Wrmsr) {
        0 => Ok(true),
        1 => Ok(false),
        n => fail!("the IPIv probe IPI took {n} WRMSR exits"),
    }
}
