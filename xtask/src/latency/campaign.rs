//! From checked record streams to probes: each vCPU's side of each probe (`P`, `R`, then `B` and
//! `D` records), the sides of one probe joined (one-way: receiver stamp minus sender stamp, in
//! order; round trip: the initiator's values), and the exits of every batch of both sides added up.
//! Anything that does not fit together is an error naming the line.

use super::log::{stream_name, Line, Log, StreamKey};
use std::collections::BTreeMap;
use tessera_latency_record::decode::Record;
use tessera_latency_record::{Family, Named, Role};

/// Exit counts by basic reason number (81 = unknown reasons, as the hypercall fills them).
pub type Exits = BTreeMap<u32, u64>;

/// What the vCPUs said about the machine (the first `S`/`C` records; all must agree).
#[derive(Clone, Debug, PartialEq)]
pub struct Conditions {
    pub ipiv: bool,
    /// The timer path the boot info named: virtualized (APIC-timer virtualization) or not.
    pub timer_virtualized: bool,
    pub tsc_hz: u64,
    pub tsc_source: String,
    pub cpu: String,
    pub gap_cycles: u64,
}

/// One probe, both sides joined.
#[derive(Clone, Debug)]
pub struct Probe {
    pub name: String,
    pub family: Family,
    pub path: String,
    pub route: String,
    pub wait: String,
    pub warmup: u64,
    /// Cycles per kept sample.
    pub samples: Vec<u64>,
    /// Exits of every batch of every side.
    pub exits: Exits,
    /// The same by vCPU.
    pub exits_by_vcpu: BTreeMap<StreamKey, Exits>,
    /// The vCPUs taking part, sender first.
    pub vcpus: Vec<StreamKey>,
}

/// A whole campaign read from one log.
#[derive(Clone, Debug)]
pub struct Campaign {
    pub conditions: Conditions,
    pub probes: Vec<Probe>,
    /// Per vCPU, its counters in its `E` record.
    pub end_exits: BTreeMap<StreamKey, Exits>,
    pub image_version: Option<String>,
    pub hypervisor_exits: BTreeMap<StreamKey, super::log::HypervisorExits>,
}

/// One vCPU's side of a probe, as read.
#[derive(Clone, Debug)]
struct Side {
    key: StreamKey,
    line: usize,
    probe: Record,
    role: Role,
    n: u64,
    warmup: u64,
    batch: u64,
    values: Vec<u64>,
    batches: Vec<(u64, Exits)>,
}

/// Joins the streams of `log` (named `file` in errors).
pub fn assemble(file: &str, log: &Log) -> Result<Campaign, String> {
    let mut conditions: Option<Conditions> = None;
    let mut sides: BTreeMap<u64, Vec<Side>> = BTreeMap::new();
    let mut end_exits = BTreeMap::new();
    for (key, lines) in &log.streams {
        let read =
            read_stream(key, lines).map_err(|(line, why)| format!("{file}:{line}: {why}"))?;
        match (&conditions, read.conditions) {
            (None, found) => conditions = found,
            (Some(first), Some(found)) if *first != found => {
                return Err(format!(
                "{file}: {} saw other conditions than the first vCPU: {found:?} against {first:?}",
                stream_name(key)
            ))
            }
            _ => {}
        }
        for side in read.sides {
            sides
                .entry(side.probe.number("p").unwrap_or(u64::MAX))
                .or_default()
                .push(side);
        }
        end_exits.insert(key.clone(), read.end_exits);
    }
    let conditions =
        conditions.ok_or_else(|| format!("{file}: no vCPU printed its start record"))?;
    let probes = sides
        .into_iter()
        .map(|(id, sides)| join(id, sides).map_err(|(line, why)| format!("{file}:{line}: {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    check_batches_within_counters(file, &probes, &end_exits)?;
    Ok(Campaign {
        conditions,
        probes,
        end_exits,
        image_version: log.image_version.clone(),
        hypervisor_exits: log.hypervisor_exits.clone(),
    })
}

struct StreamRead {
    conditions: Option<Conditions>,
    sides: Vec<Side>,
    end_exits: Exits,
}

type Fault = (usize, String);

fn read_stream(key: &StreamKey, lines: &[Line]) -> Result<StreamRead, Fault> {
    let mut out = StreamRead {
        conditions: None,
        sides: Vec::new(),
        end_exits: Exits::new(),
    };
    let mut cpu = String::new();
    for Line { number, record } in lines {
        let fault = |e: String| (*number, e);
        let text = |e: tessera_latency_record::decode::LineError| (*number, e.to_string());
        match record.kind {
            'S' => {
                out.conditions = Some(Conditions {
                    ipiv: record.get("ipiv").map_err(text)? == "on",
                    timer_virtualized: record.get("tmr").map_err(text)? == "on",
                    tsc_hz: record.number("tsc_hz").map_err(text)?,
                    tsc_source: record.get("tsc_src").map_err(text)?.to_string(),
                    cpu: String::new(),
                    gap_cycles: record.number("gap").map_err(text)?,
                })
            }
            'C' => cpu = record.text("cpu").map_err(text)?,
            'P' => out.sides.push(new_side(key, *number, record)),
            'R' => read_role(current(&mut out.sides, *number)?, record).map_err(text)?,
            'B' => {
                let side = current(&mut out.sides, *number)?;
                let exits = record.exit_counts("x").map_err(text)?;
                let count = record.number("n").map_err(text)?;
                side.batches.push((count, exits.into_iter().collect()));
            }
            'D' => read_data(current(&mut out.sides, *number)?, record).map_err(fault)?,
            'E' => {
                let exits = record.exit_counts("x").map_err(text)?;
                out.end_exits = exits.into_iter().collect();
            }
            other => return Err(fault(format!("unknown record kind `{other}`"))),
        }
    }
    if let Some(conditions) = &mut out.conditions {
        conditions.cpu = cpu;
    }
    Ok(out)
}

fn new_side(key: &StreamKey, line: usize, record: &Record) -> Side {
    Side {
        key: key.clone(),
        line,
        probe: record.clone(),
        role: Role::Respond,
        n: 0,
        warmup: 0,
        batch: 0,
        values: Vec::new(),
        batches: Vec::new(),
    }
}

fn current(sides: &mut [Side], line: usize) -> Result<&mut Side, Fault> {
    sides
        .last_mut()
        .ok_or_else(|| (line, "a probe's record before its `P` record".to_string()))
}

fn read_role(
    side: &mut Side,
    record: &Record,
) -> Result<(), tessera_latency_record::decode::LineError> {
    let role = record.get("role")?;
    side.role =
        Role::from_name(role).ok_or_else(|| tessera_latency_record::decode::LineError::Field {
            key: "role".into(),
            why: format!("`{role}` is not a role"),
        })?;
    side.n = record.number("n")?;
    side.warmup = record.number("warm")?;
    side.batch = record.number("batch")?;
    Ok(())
}

fn read_data(side: &mut Side, record: &Record) -> Result<(), String> {
    let first = record.number("i").map_err(|e| e.to_string())?;
    if first != side.values.len() as u64 {
        return Err(format!(
            "values from index {first} where {} was due",
            side.values.len()
        ));
    }
    let values = record.numbers("v").map_err(|e| e.to_string())?;
    for (offset, value) in values.into_iter().enumerate() {
        let value = match (side.role.carries_stamps(), offset) {
            (true, 1..) => side.values.last().copied().unwrap_or(0).wrapping_add(value),
            _ => value,
        };
        side.values.push(value);
    }
    Ok(())
}

/// Both sides of probe `id` into one probe.
fn join(id: u64, mut sides: Vec<Side>) -> Result<Probe, Fault> {
    sides.sort_by_key(|s| !matches!(s.role, Role::Send | Role::Initiate | Role::Timer));
    let first = &sides[0];
    for side in &sides {
        check_side(side)?;
        if side.probe.fields.iter().find(|(k, _)| k == "name")
            != first.probe.fields.iter().find(|(k, _)| k == "name")
        {
            return Err((
                side.line,
                format!("probe {id}: its sides name it differently"),
            ));
        }
    }
    let text = |e: tessera_latency_record::decode::LineError| (first.line, e.to_string());
    let family_name = first.probe.get("fam").map_err(text)?;
    let family = Family::from_name(family_name)
        .ok_or_else(|| (first.line, format!("`{family_name}` is not a probe family")))?;
    let roles: Vec<Role> = sides.iter().map(|s| s.role).collect();
    let samples = match (family, roles.as_slice()) {
        (Family::IpiOneWay, [Role::Send, Role::Receive]) => one_way(&sides[0], &sides[1])?,
        (Family::IpiRoundTrip, [Role::Initiate, Role::Respond]) => sides[0].values.clone(),
        (Family::TimerLateness, [Role::Timer]) => sides[0].values.clone(),
        _ => {
            return Err((
                first.line,
                format!("probe {id} has sides {roles:?}: a side is missing or repeated"),
            ))
        }
    };
    let mut exits = Exits::new();
    let mut exits_by_vcpu: BTreeMap<StreamKey, Exits> = BTreeMap::new();
    for side in &sides {
        let own = exits_by_vcpu.entry(side.key.clone()).or_default();
        for (_, batch) in &side.batches {
            add(&mut exits, batch);
            add(own, batch);
        }
    }
    Ok(Probe {
        name: first.probe.text("name").map_err(text)?,
        family,
        path: first.probe.get("path").map_err(text)?.to_string(),
        route: first.probe.get("route").map_err(text)?.to_string(),
        wait: first.probe.get("wait").map_err(text)?.to_string(),
        warmup: first.warmup,
        samples,
        exits,
        exits_by_vcpu,
        vcpus: sides.iter().map(|s| s.key.clone()).collect(),
    })
}

/// A side holds what its `R` record promised.
fn check_side(side: &Side) -> Result<(), Fault> {
    let wanted_values = if side.role == Role::Respond {
        0
    } else {
        side.n
    };
    if side.values.len() as u64 != wanted_values {
        return Err((
            side.line,
            format!(
                "{} of a probe holds {} values, its role record says {wanted_values}",
                stream_name(&side.key),
                side.values.len()
            ),
        ));
    }
    let in_batches: u64 = side.batches.iter().map(|(n, _)| n).sum();
    if in_batches != side.n {
        return Err((
            side.line,
            format!(
                "{}: batches cover {in_batches} samples of {}",
                stream_name(&side.key),
                side.n
            ),
        ));
    }
    Ok(())
}

/// Receiver stamp minus sender stamp, sample by sample.
fn one_way(send: &Side, receive: &Side) -> Result<Vec<u64>, Fault> {
    send.values
        .iter()
        .zip(&receive.values)
        .enumerate()
        .map(|(i, (sent, arrived))| {
            arrived.checked_sub(*sent).ok_or_else(|| {
                (
                    receive.line,
                    format!("sample {i}: arrival stamp {arrived} before its send stamp {sent}"),
                )
            })
        })
        .collect()
}

/// The exits a vCPU's batches claim can never exceed what its counters show at its end.
fn check_batches_within_counters(
    file: &str,
    probes: &[Probe],
    ends: &BTreeMap<StreamKey, Exits>,
) -> Result<(), String> {
    let mut claimed: BTreeMap<&StreamKey, Exits> = BTreeMap::new();
    for probe in probes {
        for (key, exits) in &probe.exits_by_vcpu {
            add(claimed.entry(key).or_default(), exits);
        }
    }
    for (key, exits) in claimed {
        let end = ends.get(key).cloned().unwrap_or_default();
        for (reason, count) in exits {
            let at_end = end.get(&reason).copied().unwrap_or(0);
            if count > at_end {
                return Err(format!(
                    "{file}: the batches of {} claim {count} exits of reason {reason}, its counters show {at_end} at its end",
                    stream_name(key)
                ));
            }
        }
    }
    Ok(())
}

fn add(into: &mut Exits, from: &Exits) {
    for (reason, count) in from {
        *into.entry(*reason).or_default() += count;
    }
}
