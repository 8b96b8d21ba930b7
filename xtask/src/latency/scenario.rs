//! The latency scenario of `cargo xtask test`: a short campaign on tests/latency/campaign.toml,
//! once on the newest CPU model (IPIv and APIC-timer virtualization offered) and once on today's
//! (neither). It passes when the guests saw what the run offered, the log reads whole, each vCPU's end counters equal the
//! hypervisor's own (see `check`), and the exits per sample are what each path must cost: none
//! with IPIv inside a partition and over exitless routes, one per IPI sent on the posted
//! fallback (WRMSR) and over the trapped route (WRMSR, or APIC write when IPIv is on); a trapped
//! timer one WRMSR to arm and at most one exit to deliver, a virtualized one none.

use super::campaign::{assemble, Campaign};
use super::{check, image, log, probes};
use crate::emulator::RunSpec;
use crate::emulator::Scenario;
use crate::workspace::root as workspace_root;
use tessera_latency_record::Family;

/// Samples per probe in the scenario (each costs about 100,000 emulated cycles).
const SAMPLES: u32 = 30;

/// The two runs, their image built.
pub fn scenarios() -> Result<Vec<Scenario>, String> {
    let root = workspace_root();
    let board = root.join("board/emulator.toml");
    let manifest = root.join("tests/latency/campaign.toml");
    let model = tessera_manifest::check_files(&board, &manifest, tessera_manifest::Images::Skip)
        .map_err(|e| e.to_string())?;
    let choice = probes::Choice {
        samples: SAMPLES,
        warmup: 10,
        gap_cycles: 100_000,
        filter: Vec::new(),
        noise: None,
    };
    let plan = probes::plan(&model, &choice)?;
    let (built, _) = image::build(&board, &manifest, &plan)?;
    let expected = plan.probes().count();
    Ok(super::run_modes("both", "like-ipiv")
        .into_iter()
        .map(|(ipiv, timer_virt)| {
            let mut spec = RunSpec::new(built.iso.clone());
            spec.ipiv = ipiv;
            spec.timer_virt = timer_virt;
            spec.timeout_s = 600;
            Scenario {
                name: format!(
                    "latency --ipiv {} --timer-virt {}",
                    on(ipiv),
                    on(timer_virt)
                ),
                spec,
                expect_pass: true,
                required_summary: Vec::new(),
                check: Some(Box::new(move |outcome| {
                    check_serial(&outcome.serial, (ipiv, timer_virt), expected)
                })),
            }
        })
        .collect())
}

/// The scenario's verdict on a serial log of a run that offered `(IPIv, APIC-timer
/// virtualization)`.
pub fn check_serial(serial: &str, offered: (bool, bool), probes: usize) -> Result<(), String> {
    let (ipiv, timer_virt) = offered;
    let campaign = assemble("COM1", &log::read("COM1", serial)?)?;
    if campaign.probes.len() != probes {
        return Err(format!(
            "{} probes reported, the plan has {probes}",
            campaign.probes.len()
        ));
    }
    if campaign.conditions.ipiv != ipiv {
        return Err(format!(
            "the guests saw IPIv {} in a run with it {}",
            on(campaign.conditions.ipiv),
            on(ipiv)
        ));
    }
    if campaign.conditions.timer_virtualized != timer_virt {
        return Err(format!(
            "the guests saw APIC-timer virtualization {} in a run with it {}",
            on(campaign.conditions.timer_virtualized),
            on(timer_virt)
        ));
    }
    check::against_hypervisor(&campaign)?;
    exits_per_path(&campaign, ipiv)
}

fn on(flag: bool) -> &'static str {
    if flag {
        "on"
    } else {
        "off"
    }
}

/// A virtualized timer costs no exit; a trapped one exactly one WRMSR to arm each expiry and at
/// most one exit (the VMX-preemption timer) to deliver it, nothing else.
fn timer_exits(probe: &super::campaign::Probe) -> Result<(), String> {
    let n = probe.samples.len() as u64;
    let wrmsr = probe.exits.get(&32).copied().unwrap_or(0);
    let other: u64 = probe
        .exits
        .iter()
        .filter(|(r, _)| **r != 32)
        .map(|(_, c)| c)
        .sum();
    let fits = match probe.path.as_str() {
        "timer-virt" => wrmsr + other == 0,
        "timer-trapped" => wrmsr == n && other <= n,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    Err(format!(
        "{} ({}): exits {:?} over {n} samples",
        probe.name, probe.path, probe.exits
    ))
}

/// Every probe's exits are exactly its path's.
fn exits_per_path(campaign: &Campaign, ipiv: bool) -> Result<(), String> {
    for probe in &campaign.probes {
        let n = probe.samples.len() as u64;
        let sends_per_sample = match probe.family {
            Family::IpiRoundTrip => 2,
            _ => 1,
        };
        if probe.family == Family::TimerLateness {
            timer_exits(probe)?;
            continue;
        }
        let expected: Vec<(u32, u64)> = match (probe.path.as_str(), ipiv) {
            ("ipiv", true) => vec![],
            ("posted", false) => vec![(32, sends_per_sample * n)],
            ("trapped", true) => vec![(56, n)],
            ("trapped", false) => vec![(32, n)],
            (path, _) => {
                return Err(format!(
                    "{}: path `{path}` in a run with IPIv {}",
                    probe.name,
                    on(ipiv)
                ))
            }
        };
        let found: Vec<(u32, u64)> = probe
            .exits
            .iter()
            .map(|(r, c)| (*r, *c))
            .filter(|(_, c)| *c > 0)
            .collect();
        if found != expected {
            return Err(format!(
                "{} ({}): exits {found:?} over {n} samples, expected {expected:?} (reason, count)",
                probe.name, probe.path
            ));
        }
    }
    Ok(())
}
