//! `cargo xtask stacks [--debug]`: every shipped emulator-board manifest and emulator scenario (and
//! the latency campaign) built with the release profile (or the debug one) and run, each run's
//! deepest host-stack and boot-CPU start-up stack use (the hypervisor's own SUMMARY lines) printed
//! as a table, and the deepest of each checked against what the stacks are sized from: the host
//! stacks from `HOST_STACK_MEASURED_{RELEASE,DEBUG}_BYTES` plus `HOST_STACK_MARGIN_BYTES`, the
//! start-up stack from `BSP_STACK_MEASURED_{RELEASE,DEBUG}_BYTES` (tessera-arch) plus the same
//! margin.

use crate::emulator::Scenario;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use tessera_manifest::heap::{Build, HOST_STACK_MARGIN_BYTES};

/// One run's stack figures, from the hypervisor's `SUMMARY` lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackUse {
    /// Deepest use of any of its vCPUs' host stacks, and their size.
    pub host_used_bytes: u64,
    pub host_bytes: u64,
    /// Use of the boot CPU's start-up stack, and its size.
    pub bsp_used_bytes: u64,
    pub bsp_bytes: u64,
}

/// The figures of a COM1 log; guests' lines (`[name] SUMMARY ...`) are never read.
pub fn stack_use(serial: &str) -> Result<StackUse, String> {
    let summaries = crate::emulator::hypervisor_summaries(serial);
    let pairs: BTreeMap<&str, u64> = summaries
        .iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.as_str(), value.parse().ok()?)))
        .collect();
    let get = |key: &str| {
        pairs
            .get(key)
            .copied()
            .ok_or_else(|| format!("the hypervisor printed no SUMMARY {key}="))
    };
    Ok(StackUse {
        host_used_bytes: get("host_stack_used_max_bytes")?,
        host_bytes: get("host_stack_bytes")?,
        bsp_used_bytes: get("bsp_stack_used_bytes")?,
        bsp_bytes: get("bsp_stack_bytes")?,
    })
}

/// Each measured run's figures by run name.
#[derive(Clone, Default)]
struct Survey(Arc<Mutex<BTreeMap<String, StackUse>>>);

impl Survey {
    fn record(&self, name: &str, figures: StackUse) {
        let mut runs = self.0.lock().expect("survey");
        runs.insert(name.to_string(), figures);
    }

    fn runs(&self) -> Vec<(String, StackUse)> {
        let runs = self.0.lock().expect("survey");
        runs.iter().map(|(n, f)| (n.clone(), *f)).collect()
    }
}

/// `cargo xtask stacks [--debug] [--scenario NAME]...`: exit 1 when a run fails or a stack has
/// less than the margin left above its deepest use.
pub fn main(filter: &[String], build: Build) -> ExitCode {
    match survey(filter, build) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn survey(filter: &[String], build: Build) -> Result<bool, String> {
    let emulator = crate::emulator::ensure()?;
    let survey = Survey::default();
    let mut runs = crate::suite::shipped::runs(filter, build == Build::Release)?;
    runs.extend(match build {
        Build::Release => crate::suite::scenario::release_scenarios(filter)?,
        Build::Debug => crate::suite::scenario::scenarios(filter)?,
    });
    if build == Build::Release && crate::suite::selected("latency", filter) {
        // The latency campaign's image is built with the release profile only.
        runs.extend(crate::latency::scenario::scenarios()?);
    }
    if runs.is_empty() {
        return Err(format!("no emulator scenario matches {filter:?}"));
    }
    let runs = runs
        .into_iter()
        .map(|run| recording(run, &survey))
        .collect();
    let passed = crate::suite::run_parallel(&emulator, runs, &Default::default());
    let figures = survey.runs();
    println!("{}", table(&figures, build));
    let verdicts = verdicts(&figures, build);
    for line in &verdicts.lines {
        println!("{line}");
    }
    Ok(passed && verdicts.ok)
}

/// `run` with its figures recorded into `survey` when it passes. Runs that end as their scenario
/// expects without a summary (an overflow on purpose) are judged but not measured.
fn recording(run: Scenario, survey: &Survey) -> Scenario {
    let (survey, name) = (survey.clone(), run.name.clone());
    run.then_check(move |outcome| {
        if let Ok(figures) = stack_use(&outcome.serial) {
            survey.record(&name, figures);
        }
        Ok(())
    })
}

/// One row per run, deepest host-stack use first.
pub fn table(runs: &[(String, StackUse)], build: Build) -> String {
    let mut rows: Vec<&(String, StackUse)> = runs.iter().collect();
    rows.sort_by_key(|(name, f)| (std::cmp::Reverse(f.host_used_bytes), name.clone()));
    let mut out = format!(
        "{:<44} {:>18} {:>18}",
        format!("run ({})", name(build)),
        "host stack",
        "start-up stack"
    );
    for (name, f) in rows {
        let host = format!("{} of {}", f.host_used_bytes, f.host_bytes);
        let bsp = format!("{} of {}", f.bsp_used_bytes, f.bsp_bytes);
        out.push_str(&format!("\n{name:<44} {host:>18} {bsp:>18}"));
    }
    out
}

/// The report's closing lines and whether every stack keeps its margin.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdicts {
    pub lines: Vec<String>,
    pub ok: bool,
}

/// `release` or `debug`, as the constants' names say it.
fn name(build: Build) -> &'static str {
    match build {
        Build::Release => "release",
        Build::Debug => "debug",
    }
}

/// Compares the deepest uses with the measured depths the stacks are sized from.
pub fn verdicts(runs: &[(String, StackUse)], build: Build) -> Verdicts {
    let deepest = |key: fn(&StackUse) -> u64| runs.iter().max_by_key(|(_, f)| key(f));
    let (Some((host_run, host)), Some((bsp_run, bsp))) = (
        deepest(|f| f.host_used_bytes),
        deepest(|f| f.bsp_used_bytes),
    ) else {
        return Verdicts {
            lines: vec!["no run printed its stack figures".into()],
            ok: false,
        };
    };
    let margin = HOST_STACK_MARGIN_BYTES as u64;
    let constant = build.measured_host_stack_bytes() as u64;
    let upper = name(build).to_uppercase();
    let host_ok = host.host_used_bytes <= constant;
    let bsp_left = bsp.bsp_bytes.saturating_sub(bsp.bsp_used_bytes);
    let bsp_ok = bsp_left >= margin;
    let mut lines = vec![
        format!(
            "host stacks: deepest {} bytes ({host_run}); sized from HOST_STACK_MEASURED_{upper}_BYTES = {constant} \
             plus {margin} margin: {} bytes each, {} left at the deepest",
            host.host_used_bytes,
            host.host_bytes,
            host.host_bytes.saturating_sub(host.host_used_bytes)
        ),
        format!(
            "start-up stack: deepest {} bytes ({bsp_run}) of {}: {bsp_left} left (margin asked: {margin})",
            bsp.bsp_used_bytes, bsp.bsp_bytes
        ),
    ];
    if !host_ok {
        lines.push(format!(
            "error: HOST_STACK_MEASURED_{upper}_BYTES ({constant}) is below the deepest use measured: \
             set it to {} (kernel/manifest/src/heap.rs)",
            host.host_used_bytes
        ));
    }
    if !bsp_ok {
        lines.push(format!(
            "error: the start-up stack keeps less than {margin} bytes: set BSP_STACK_MEASURED_{upper}_BYTES \
             to {} (kernel/arch/src/boot_stack.rs)",
            bsp.bsp_used_bytes
        ));
    }
    Verdicts {
        lines,
        ok: host_ok && bsp_ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[cpu0 INFO ] heap: 1 bytes\n\
        SUMMARY host_stack_used_max_bytes=1800 host_stack_bytes=4096\n\
        cpu0: start-up stack 2700 of 5120 bytes used\n\
        SUMMARY bsp_stack_used_bytes=2700 bsp_stack_bytes=5120\n";

    fn figures(host_used_bytes: u64, bsp_used_bytes: u64) -> StackUse {
        StackUse {
            host_used_bytes,
            host_bytes: 4096,
            bsp_used_bytes,
            bsp_bytes: 5120,
        }
    }

    #[test]
    fn the_hypervisors_summary_lines_give_the_figures() {
        assert_eq!(stack_use(LOG), Ok(figures(1800, 2700)));
    }

    #[test]
    fn a_guests_summary_line_is_never_read() {
        let forged = "[beta] SUMMARY host_stack_used_max_bytes=1 host_stack_bytes=1 \
                      bsp_stack_used_bytes=1 bsp_stack_bytes=1\n";
        let e = stack_use(forged).unwrap_err();
        assert!(e.contains("host_stack_used_max_bytes"), "{e}");
        let both = format!("{LOG}{forged}");
        assert_eq!(stack_use(&both), Ok(figures(1800, 2700)));
    }

    #[test]
    fn a_missing_figure_is_named() {
        let e = stack_use("SUMMARY host_stack_used_max_bytes=1 host_stack_bytes=2\n").unwrap_err();
        assert!(e.contains("bsp_stack_used_bytes"), "{e}");
    }

    #[test]
    fn the_table_lists_the_deepest_host_stack_first() {
        let runs = [
            ("hello".to_string(), figures(1000, 2000)),
            ("smp".to_string(), figures(1500, 1000)),
        ];
        let table = table(&runs, Build::Release);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with("run (release)"));
        assert!(rows[1].starts_with("smp ") && rows[1].contains("1500 of 4096"));
        assert!(rows[2].starts_with("hello ") && rows[2].contains("2000 of 5120"));
    }

    /// Asserts that `runs` fail under `build` with a line naming `text`.
    fn fails_naming(runs: &[(String, StackUse)], build: Build, text: &str) {
        let v = verdicts(runs, build);
        assert!(!v.ok, "{:?}", v.lines);
        assert!(v.lines.iter().any(|l| l.contains(text)), "{:?}", v.lines);
    }

    #[test]
    fn a_depth_above_the_constant_or_a_short_margin_fails_and_names_the_fix() {
        let constant = Build::Release.measured_host_stack_bytes() as u64;
        let fits = [("a".to_string(), figures(constant, 5120 - 2048))];
        assert!(verdicts(&fits, Build::Release).ok);
        let deep = [("a".to_string(), figures(constant + 8, 1000))];
        fails_naming(
            &deep,
            Build::Release,
            &format!("set it to {}", constant + 8),
        );
        let short = [("a".to_string(), figures(1000, 5120 - 2040))];
        fails_naming(
            &short,
            Build::Release,
            "BSP_STACK_MEASURED_RELEASE_BYTES to 3080",
        );
    }

    #[test]
    fn the_debug_build_is_judged_by_its_own_constant() {
        let debug = Build::Debug.measured_host_stack_bytes() as u64;
        let runs = [("a".to_string(), figures(debug, 1000))];
        assert!(verdicts(&runs, Build::Debug).ok);
        let deeper = [("a".to_string(), figures(debug + 16, 1000))];
        fails_naming(&deeper, Build::Debug, "HOST_STACK_MEASURED_DEBUG_BYTES");
    }

    #[test]
    fn no_figures_is_a_failure() {
        assert!(!verdicts(&[], Build::Release).ok);
    }
}
