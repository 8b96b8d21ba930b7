//! `report.json` and the text table: per run (one emulator run or one hardware log) the machine's
//! conditions and, per probe, its statistics, the exits each sample cost by reason, and which
//! vCPUs took part. Emulated runs count emulated cycles (never time); hardware runs add ns.

use super::campaign::{Campaign, Exits, Probe};
use super::log::stream_name;
use super::stats::{summarize, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use tessera_latency_record::Named;

/// The report format's name and version.
pub const FORMAT: &str = "tessera-latency-report/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub board: Option<String>,
    pub manifest: Option<String>,
    pub runs: Vec<Run>,
}

/// Where a run's figures come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// `emulator` or `hardware`.
    pub source: String,
    /// Emulator turn length in instructions (emulated runs).
    pub quantum: Option<u32>,
    /// Which CPUs were busy and how the idle ones waited (emulated runs: cycles depend on it).
    pub occupancy: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub label: String,
    pub source: String,
    pub emulated: bool,
    /// `emulated cycles` or `cycles`.
    pub unit: String,
    pub quantum: Option<u32>,
    pub occupancy: Option<String>,
    pub image_version: Option<String>,
    pub cpu_model: String,
    pub ipiv_present: bool,
    /// `None`: no timer probe in the run.
    pub timer_virtualization_present: Option<bool>,
    pub tsc_hz: u64,
    pub tsc_source: String,
    pub gap_cycles: u64,
    pub probes: Vec<ProbeReport>,
    pub vcpus: Vec<VcpuReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub name: String,
    pub family: String,
    pub path: String,
    pub route: String,
    pub wait: String,
    pub warmup: u64,
    pub vcpus: Vec<String>,
    /// In the run's unit.
    pub cycles: Summary,
    /// Hardware runs with a known TSC frequency: the same figures in nanoseconds.
    pub ns: Option<BTreeMap<String, f64>>,
    pub exits_per_sample: BTreeMap<String, f64>,
    pub exits_total: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VcpuReport {
    pub vcpu: String,
    /// The vCPU's counters in its end record (read through the exit-counters hypercall).
    pub exits_at_end: BTreeMap<String, u64>,
    /// What the hypervisor printed for it when the run ended, if the log has it.
    pub hypervisor_exits: Option<BTreeMap<String, u64>>,
}

/// The short name of exit-counter entry `reason` (the hypercall's last entry: `unknown`).
pub fn reason_name(reason: u32) -> String {
    u16::try_from(reason)
        .ok()
        .and_then(tessera_vmx::exit::ExitReason::from_number)
        .map_or_else(|| "unknown".to_string(), |r| r.short_name().to_string())
}

fn named(exits: &Exits) -> BTreeMap<String, u64> {
    exits.iter().map(|(r, c)| (reason_name(*r), *c)).collect()
}

/// One run of the report from a campaign.
pub fn run(label: &str, origin: &Origin, campaign: &Campaign) -> Run {
    let c = &campaign.conditions;
    let emulated = origin.source == "emulator";
    let probes = campaign
        .probes
        .iter()
        .filter_map(|p| probe_report(p, emulated, c.tsc_hz))
        .collect();
    let vcpus = campaign
        .end_exits
        .iter()
        .map(|(key, exits)| VcpuReport {
            vcpu: format!("{}.{}", key.0, key.1),
            exits_at_end: named(exits),
            hypervisor_exits: campaign.hypervisor_exits.get(key).cloned(),
        })
        .collect();
    Run {
        label: label.to_string(),
        source: origin.source.clone(),
        emulated,
        unit: if emulated {
            "emulated cycles"
        } else {
            "cycles"
        }
        .to_string(),
        quantum: origin.quantum,
        occupancy: origin.occupancy.clone(),
        image_version: campaign.image_version.clone(),
        cpu_model: c.cpu.clone(),
        ipiv_present: c.ipiv,
        timer_virtualization_present: campaign
            .probes
            .iter()
            .any(|p| p.family == tessera_latency_record::Family::TimerLateness)
            .then_some(c.timer_virtualized),
        tsc_hz: c.tsc_hz,
        tsc_source: c.tsc_source.clone(),
        gap_cycles: c.gap_cycles,
        probes,
        vcpus,
    }
}

fn probe_report(probe: &Probe, emulated: bool, tsc_hz: u64) -> Option<ProbeReport> {
    let cycles = summarize(&probe.samples)?;
    let n = cycles.n as f64;
    let ns = (!emulated && tsc_hz > 0).then(|| {
        let scale = 1e9 / tsc_hz as f64;
        ["min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev"]
            .iter()
            .map(|f| (f.to_string(), cycles.figure(f).unwrap_or(0.0) * scale))
            .collect()
    });
    Some(ProbeReport {
        name: probe.name.clone(),
        family: probe.family.name().to_string(),
        path: probe.path.clone(),
        route: probe.route.clone(),
        wait: probe.wait.clone(),
        warmup: probe.warmup,
        vcpus: probe.vcpus.iter().map(stream_name).collect(),
        exits_per_sample: probe
            .exits
            .iter()
            .map(|(r, c)| (reason_name(*r), *c as f64 / n))
            .collect(),
        exits_total: named(&probe.exits),
        cycles,
        ns,
    })
}

/// The text table of every run.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    for run in &report.runs {
        let _ = writeln!(
            out,
            "== {} ({}; {}): IPIv {}, timer virtualization {}, TSC {} Hz ({}), image {}",
            run.label,
            run.source,
            run.unit,
            if run.ipiv_present {
                "present"
            } else {
                "absent"
            },
            run.timer_virtualization_present
                .map_or("not probed", |p| if p { "present" } else { "absent" }),
            run.tsc_hz,
            run.tsc_source,
            run.image_version.as_deref().unwrap_or("unknown"),
        );
        if let (Some(quantum), Some(occupancy)) = (run.quantum, &run.occupancy) {
            let _ = writeln!(
                out,
                "   emulator quantum {quantum}; {occupancy}; CPU {}",
                run.cpu_model
            );
        } else {
            let _ = writeln!(out, "   CPU {}", run.cpu_model);
        }
        let _ = writeln!(
            out,
            "{:<34} {:<13} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8}  exits/sample",
            "probe", "path", "n", "min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev"
        );
        for p in &run.probes {
            let c = &p.cycles;
            let _ = writeln!(
                out,
                "{:<34} {:<13} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9.1} {:>8.1}  {}",
                p.name,
                p.path,
                c.n,
                c.min,
                c.p50,
                c.p90,
                c.p99,
                c.p99_9,
                c.max,
                c.mean,
                c.stddev,
                exits_text(&p.exits_per_sample)
            );
        }
        if !run.emulated && run.tsc_hz > 0 {
            let _ = writeln!(
                out,
                "   (figures in TSC cycles; report.json has them in ns too)"
            );
        }
    }
    out
}

/// `wrmsr=1.00 vmcall=0.02`, or `0`.
pub fn exits_text(per_sample: &BTreeMap<String, f64>) -> String {
    if per_sample.is_empty() {
        return "0".into();
    }
    let parts: Vec<String> = per_sample
        .iter()
        .map(|(r, v)| format!("{r}={v:.2}"))
        .collect();
    parts.join(" ")
}
