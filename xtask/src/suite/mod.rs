//! The emulator tier of `cargo xtask test`, above every module that makes scenarios: makes the
//! emulator ready, gathers the scenarios (runner smoke, platform self-tests, the disk image, the
//! shipped manifests, tests/scenarios, the exit-path runs of a release image, latency), selects
//! them by name and boots each (in parallel, two at a time) to a verdict. Also the host tier's
//! disk-image reproducibility check.

mod disk_image;
pub mod exit_path;
pub mod reproducible;
pub mod scenario;
mod selftest;
pub mod shipped;

pub use disk_image::default_disk;

use crate::emulator::{ensure, report, run, Emulator, RunOutcome, RunSpec, Scenario};
use std::sync::Mutex;

/// How many emulators run at once (each keeps one host core busy).
const PARALLEL_RUNS: usize = 2;

/// Runs every emulator scenario whose name contains one of `filter` (all if it is empty); true
/// when all of them passed.
pub fn run_all(filter: &[String]) -> bool {
    let emulator = match ensure() {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: emulator not ready: {e}");
            return false;
        }
    };
    let figures = exit_path::Figures::default();
    let scenarios = match scenarios(filter, &figures) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("error: building emulator test images: {e}");
            return false;
        }
    };
    run_parallel(&emulator, scenarios, &figures)
}

/// Whether scenario `name` is selected by `filter` (empty: every scenario).
pub fn selected(name: &str, filter: &[String]) -> bool {
    filter.is_empty() || filter.iter().any(|part| name.contains(part.as_str()))
}

/// The scenarios: the runner smoke image first; the exit-path runs record into `figures`.
fn scenarios(filter: &[String], figures: &exit_path::Figures) -> Result<Vec<Scenario>, String> {
    let smoke = crate::emulator::build_runner_smoke()?;
    let mut spec = RunSpec::new(smoke);
    spec.timeout_s = 120;
    let mut list = vec![Scenario {
        name: "runner-smoke".into(),
        spec,
        expect_pass: true,
        required_summary: Vec::new(),
        check: None,
    }];
    list.extend(selftest::scenarios()?);
    list.retain(|scenario| selected(&scenario.name, filter));
    if selected("disk-image", filter) {
        list.push(disk_image::bochs_scenario()?);
    }
    list.extend(shipped::runs(filter, false)?);
    list.extend(scenario::scenarios(filter)?);
    if selected(exit_path::NAME, filter) {
        list.extend(exit_path::scenarios(figures)?);
    }
    if selected("latency --ipiv on", filter) || selected("latency --ipiv off", filter) {
        let latency = crate::latency::scenario::scenarios()?;
        list.extend(latency.into_iter().filter(|s| selected(&s.name, filter)));
    }
    // `uefi-boot` runs in QEMU after these (`cargo xtask test`), so it counts as a match too.
    if list.is_empty() && !selected(crate::appliance::uefi::NAME, filter) {
        return Err(format!("no emulator scenario matches {filter:?}"));
    }
    Ok(list)
}

/// Runs `scenarios` at most `PARALLEL_RUNS` at a time; prints each verdict and the exit-path
/// figures when both of its runs passed; true if all pass.
pub fn run_parallel(
    emulator: &Emulator,
    scenarios: Vec<Scenario>,
    figures: &exit_path::Figures,
) -> bool {
    let queue = Mutex::new(scenarios.into_iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_RUNS {
            scope.spawn(|| loop {
                let Some(mut scenario) = queue.lock().expect("queue").next() else {
                    break;
                };
                scenario.spec.echo = false;
                scenario.spec.label = scenario.name.clone();
                eprintln!("==> emulator scenario {}", scenario.name);
                let started = std::time::Instant::now();
                let passed = match run(emulator, &scenario.spec) {
                    Ok(mut outcome) => {
                        let passed = scenario.judge(&outcome);
                        if passed && !scenario.expect_pass {
                            remove_kept_files(&mut outcome);
                        }
                        report(&scenario.spec, &outcome);
                        passed
                    }
                    Err(e) => {
                        eprintln!("error: scenario {}: {e}", scenario.name);
                        false
                    }
                };
                let line = (scenario.name, passed, started.elapsed().as_secs_f64());
                results.lock().expect("results").push(line);
            });
        }
    });
    let results = results.into_inner().expect("results");
    eprintln!("==> emulator scenarios: {} run", results.len());
    for (name, passed, seconds) in &results {
        let verdict = if *passed { "pass" } else { "FAIL" };
        eprintln!("scenario {name:<28} {verdict:<4} {seconds:>6.1} s");
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, passed, _)| !passed)
        .map(|(name, _, _)| name.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!("error: emulator scenarios failed: {}", failed.join(", "));
    }
    if let Some(line) = figures.line() {
        println!("{line}");
    }
    let passed_count = results.len() - failed.len();
    println!("scenarios: {passed_count} passed, {} failed", failed.len());
    failed.is_empty()
}

/// Removes the files of a run that failed as its scenario expects (kept only to debug failures).
fn remove_kept_files(outcome: &mut RunOutcome) {
    if let Some(dir) = outcome.kept_dir.take() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
