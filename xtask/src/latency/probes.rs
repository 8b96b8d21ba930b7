//! The probe plan for a manifest: inside each partition with two vCPUs or more, vCPU 0 against
//! vCPU 1; over each route, the sending partition's vCPU 0 against the target's vCPU 0. One-way
//! probes always, round trips where a route leads back; each with a polling and a halted
//! receiver, and on each partition's vCPU 0 the lateness of TSC-deadline timer expiries (polling
//! and halted). Every probe gets vectors of its own (from the route's allow-list when trapped).
//! One-way probes with no route back are scheduled (the receiver cannot say it is ready).

use tessera_latency_record::plan::{Place, Plan, Probe, Route, Settings, NO_NOISE};
use tessera_latency_record::{Family, Wait};
use tessera_manifest::model::Model;
use tessera_manifest::RouteMode;

/// First vector the plan hands out (0x20 is the guest's IPIv probe).
const FIRST_VECTOR: u8 = 0x30;

/// What the command line chose.
#[derive(Clone, Debug)]
pub struct Choice {
    pub samples: u32,
    pub warmup: u32,
    pub gap_cycles: u64,
    /// Substrings of probe names (or family names) to keep; empty keeps all.
    pub filter: Vec<String>,
    /// Partition index of the noisy neighbour.
    pub noise: Option<usize>,
}

/// TSC cycles before the first scheduled send (every vCPU is running by then).
const START_DELAY_CYCLES: u64 = 50_000_000;
/// Samples per exit window.
const BATCH: u32 = 50;

/// The plan for `model`.
pub fn plan(model: &Model, choice: &Choice) -> Result<Plan, String> {
    let mut vectors = FIRST_VECTOR;
    let mut probes = Vec::new();
    let noisy = |p: usize| choice.noise == Some(p);
    for (index, partition) in model.partitions.iter().enumerate() {
        if partition.vcpus.len() >= 2 && !noisy(index) {
            let (a, b) = (place(index, 0), place(index, 1));
            let name = &partition.name;
            let label = (
                format!("{name}.0->{name}.1"),
                format!("{name}.0<->{name}.1"),
            );
            for family in [Family::IpiOneWay, Family::IpiRoundTrip] {
                for wait in [Wait::Poll, Wait::Halt] {
                    let label = if family == Family::IpiOneWay {
                        &label.0
                    } else {
                        &label.1
                    };
                    let mut probe = new_probe(family, wait, Route::Intra, label, a, b);
                    probe.vector = take(&mut vectors)?;
                    probe.reply_vector = take(&mut vectors)?;
                    probes.push(probe);
                }
            }
        }
    }
    for (index, partition) in model.partitions.iter().enumerate() {
        if noisy(index) {
            continue;
        }
        for wait in [Wait::Poll, Wait::Halt] {
            let own = place(index, 0);
            let label = format!("{}.0", partition.name);
            let mut probe = new_probe(Family::TimerLateness, wait, Route::Intra, &label, own, own);
            probe.vector = take(&mut vectors)?;
            probes.push(probe);
        }
    }
    for (from, partition) in model.partitions.iter().enumerate() {
        for route in &partition.routes {
            if noisy(from) || noisy(route.to) {
                continue;
            }
            probes.extend(route_probes(model, from, route, &mut vectors)?);
        }
    }
    probes.retain(|p| keep(p, &choice.filter));
    if probes.is_empty() {
        return Err("no probe left: the manifest has no partition with two vCPUs and no route (or --probe matched none)".into());
    }
    schedule(&mut probes, choice);
    let mut plan = Plan::new(settings(choice, &probes));
    for (id, mut probe) in probes.into_iter().enumerate() {
        probe.id = id as u16;
        if !plan.push(probe) {
            return Err(format!(
                "more than {} probes: choose some with --probe",
                tessera_latency_record::plan::PROBES_MAX
            ));
        }
    }
    Ok(plan)
}

fn place(partition: usize, vcpu: u16) -> Place {
    Place {
        partition: partition as u16,
        vcpu,
    }
}

fn new_probe(
    family: Family,
    wait: Wait,
    route: Route,
    label: &str,
    sender: Place,
    receiver: Place,
) -> Probe {
    let kind = match family {
        Family::IpiOneWay => "oneway",
        Family::IpiRoundTrip => "rtt",
        Family::TimerLateness => "timer",
    };
    let wait_name = if wait == Wait::Poll { "poll" } else { "halt" };
    let mut probe = Probe::new(
        0,
        family,
        wait,
        route,
        &format!("{kind} {label} {wait_name}"),
    );
    probe.sender = sender;
    probe.receiver = receiver;
    probe
}

fn take(next: &mut u8) -> Result<u8, String> {
    let vector = *next;
    *next = next
        .checked_add(1)
        .ok_or("out of vectors: choose fewer probes with --probe")?;
    if vector == 0xFF {
        return Err("out of vectors: choose fewer probes with --probe".into());
    }
    Ok(vector)
}

/// The probes of one route, from `from`'s vCPU 0 to the target's vCPU 0.
fn route_probes(
    model: &Model,
    from: usize,
    route: &tessera_manifest::model::RouteModel,
    vectors: &mut u8,
) -> Result<Vec<Probe>, String> {
    let (source, target) = (&model.partitions[from], &model.partitions[route.to]);
    let kind = match route.mode {
        RouteMode::Exitless => Route::Exitless,
        RouteMode::Trapped => Route::Trapped,
    };
    let back = target.routes.iter().find(|r| r.to == from);
    let mut out = Vec::new();
    let families: &[Family] = if back.is_some() {
        &[Family::IpiOneWay, Family::IpiRoundTrip]
    } else {
        &[Family::IpiOneWay]
    };
    for &family in families {
        for wait in [Wait::Poll, Wait::Halt] {
            let arrow = if family == Family::IpiOneWay {
                "->"
            } else {
                "<->"
            };
            let label = format!("{}.0{arrow}{}.0", source.name, target.name);
            let mut probe = new_probe(
                family,
                wait,
                kind,
                &label,
                place(from, 0),
                place(route.to, 0),
            );
            probe.vector = route_vector(route, vectors, &label)?;
            if let Some(back) = back {
                probe.reply_vector = route_vector(back, vectors, &label)?;
            }
            out.push(probe);
        }
    }
    Ok(out)
}

/// A vector for `route`: a fresh one over an exitless route, an allowed one (>= 32) over a trapped one.
fn route_vector(
    route: &tessera_manifest::model::RouteModel,
    next: &mut u8,
    label: &str,
) -> Result<u8, String> {
    match route.mode {
        RouteMode::Exitless => take(next),
        RouteMode::Trapped => route
            .vectors
            .iter()
            .find(|v| *v >= 0x21)
            .ok_or_else(|| format!("{label}: the trapped route allows no vector from 0x21 up (the guest's exception and probe vectors are below)")),
    }
}

fn keep(probe: &Probe, filter: &[String]) -> bool {
    use tessera_latency_record::Named;
    filter.is_empty()
        || filter
            .iter()
            .any(|f| probe.name().contains(f.as_str()) || probe.family.name() == f)
}

/// Probes with no route back start on a schedule: per receiver, one after the other.
fn schedule(probes: &mut [Probe], choice: &Choice) {
    let rounds = u64::from(choice.samples + choice.warmup);
    let slot_cycles = rounds * choice.gap_cycles * 5 / 4 + START_DELAY_CYCLES / 5;
    let mut next: std::collections::BTreeMap<(u16, u16), u64> = Default::default();
    for probe in probes
        .iter_mut()
        .filter(|p| p.route != Route::Intra && p.reply_vector == 0)
    {
        let key = (probe.receiver.partition, probe.receiver.vcpu);
        let start = next.entry(key).or_insert(START_DELAY_CYCLES);
        probe.not_before_cycles = *start;
        *start += slot_cycles;
    }
}

fn settings(choice: &Choice, probes: &[Probe]) -> Settings {
    let rounds = u64::from(choice.samples + choice.warmup);
    let busy = probes.len() as u64 * rounds * choice.gap_cycles * 2 + START_DELAY_CYCLES * 2;
    Settings {
        samples: choice.samples,
        warmup: choice.warmup,
        batch: BATCH.min(choice.samples.max(1)),
        gap_cycles: choice.gap_cycles,
        start_delay_cycles: START_DELAY_CYCLES,
        timer_period_cycles: 0,
        noise_partition: choice.noise.map_or(NO_NOISE, |p| p as u16),
        noise_cycles: busy,
    }
}
