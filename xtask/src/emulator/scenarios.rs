//! The emulator tier of `cargo xtask test`: makes the emulator ready, builds the test
//! images, and boots each scenario (in parallel, two at a time), each to a verdict.

use super::{cache, ensure, report, run, Emulator, Ending, RunOutcome, RunSpec, Verdict};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// How many emulators run at once (each keeps one host core busy).
const PARALLEL_RUNS: usize = 2;

/// One emulator run of `cargo xtask test`.
pub struct Scenario {
    pub name: String,
    pub spec: RunSpec,
    /// The run must end with `TESSERA-RESULT: pass` (false: with `TESSERA-RESULT: fail`).
    pub expect_pass: bool,
    /// `SUMMARY` key=value pairs the image must print besides passing (e.g. the mode it ran in).
    pub required_summary: Vec<(String, String)>,
    /// A further check of a passing run (e.g. a guest scenario's expected COM1 lines).
    pub check: Option<Check>,
}

/// A scenario's own check of its run's output; the error says what is missing.
pub type Check = Box<dyn Fn(&RunOutcome) -> Result<(), String> + Send + Sync>;

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
    let scenarios = match scenarios(filter) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("error: building emulator test images: {e}");
            return false;
        }
    };
    run_parallel(&emulator, scenarios)
}

/// Whether scenario `name` is selected by `filter` (empty: every scenario).
pub fn selected(name: &str, filter: &[String]) -> bool {
    filter.is_empty() || filter.iter().any(|part| name.contains(part.as_str()))
}

/// The scenarios: the runner smoke image first.
fn scenarios(filter: &[String]) -> Result<Vec<Scenario>, String> {
    let smoke = build_runner_smoke()?;
    let mut spec = RunSpec::new(smoke);
    spec.timeout_s = 120;
    let mut list = vec![Scenario {
        name: "runner-smoke".into(),
        spec,
        expect_pass: true,
        required_summary: Vec::new(),
        check: None,
    }];
    list.extend(super::selftest::scenarios()?);
    list.retain(|scenario| selected(&scenario.name, filter));
    if selected("disk-image", filter) {
        list.push(crate::appliance::bochs_scenario()?);
    }
    list.extend(crate::scenario::scenarios(filter)?);
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

/// Runs `scenarios` at most `PARALLEL_RUNS` at a time; prints each verdict; true if all pass.
pub fn run_parallel(emulator: &Emulator, scenarios: Vec<Scenario>) -> bool {
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
                        let passed = ended_as_expected(&scenario, &outcome)
                            && has_summaries(&scenario, &outcome)
                            && passes_check(&scenario, &outcome);
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
    let passed_count = results.len() - failed.len();
    println!("scenarios: {passed_count} passed, {} failed", failed.len());
    failed.is_empty()
}

/// Whether the hypervisor's verdict is the one `scenario` expects (says so when it is not).
fn ended_as_expected(scenario: &Scenario, outcome: &RunOutcome) -> bool {
    if scenario.expect_pass {
        return outcome.passed();
    }
    let failed = matches!(outcome.ending, Ending::Reported(Verdict::Fail(_)));
    if !failed {
        eprintln!(
            "error: scenario {}: expected TESSERA-RESULT: fail from the hypervisor",
            scenario.name
        );
    }
    failed
}

/// Removes the files of a run that failed as its scenario expects (kept only to debug failures).
fn remove_kept_files(outcome: &mut RunOutcome) {
    if let Some(dir) = outcome.kept_dir.take() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Whether the scenario's own check (if any) accepts `outcome` (says why not).
fn passes_check(scenario: &Scenario, outcome: &RunOutcome) -> bool {
    let Some(check) = &scenario.check else {
        return true;
    };
    match check(outcome) {
        Ok(()) => true,
        Err(why) => {
            eprintln!("error: scenario {}: {why}", scenario.name);
            false
        }
    }
}

/// Whether `outcome` printed every required SUMMARY pair of `scenario` (says which one is missing).
fn has_summaries(scenario: &Scenario, outcome: &RunOutcome) -> bool {
    let printed: Vec<(String, String)> = outcome
        .hypervisor_summaries()
        .into_iter()
        .flatten()
        .collect();
    let missing: Vec<String> = scenario
        .required_summary
        .iter()
        .filter(|pair| !printed.contains(pair))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: scenario {}: no SUMMARY {}",
            scenario.name,
            missing.join(" ")
        );
    }
    missing.is_empty()
}

/// Assembles and links tests/emulator/runner-smoke into target/emulator/runner-smoke.elf.
fn build_runner_smoke() -> Result<PathBuf, String> {
    let dir = cache::workspace_root().join("tests/emulator/runner-smoke");
    let out = cache::Layout::of_workspace().root;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let object = out.join("runner-smoke.o");
    let elf = out.join("runner-smoke.elf");
    let mut assemble = Command::new("as");
    assemble
        .arg("--32")
        .arg("-o")
        .arg(&object)
        .arg(dir.join("smoke.S"));
    tool(&mut assemble, "as")?;
    let mut link = Command::new("ld");
    link.args(["-m", "elf_i386", "-T"]).arg(dir.join("link.ld"));
    tool(link.arg("-o").arg(&elf).arg(&object), "ld")?;
    Ok(elf)
}

fn tool(command: &mut Command, name: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {name}: {e} (Debian: binutils)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({status}) building the runner smoke image"
        ))
    }
}
