//! `cargo xtask latency`: the latency lab. Builds the latency image of a manifest (the latency
//! guest in every partition, with a probe plan), runs it in the emulator with IPIv and APIC-timer
//! virtualization offered and not (a progress bar per run), or reads a serial log captured on hardware (`--from-log`); then
//! writes report.json, a text table and SVG plots, and compares with `--baseline`.
//! Method and hardware procedure: tests/latency/METHOD.md.

mod baseline;
mod campaign;
pub mod check;
mod image;
mod log;
mod plot;
mod probes;
mod progress;
mod report;
pub mod scenario;
mod stats;
#[cfg(test)]
mod tests;

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use report::Report;

#[derive(Args, Clone, Debug)]
pub struct LatencyArgs {
    /// Board file (machine facts).
    #[arg(long, default_value = "board/emulator.toml")]
    pub board: PathBuf,
    /// Partitions file: whose routes and partitions are measured.
    #[arg(long, default_value = "partitions/default.toml")]
    pub manifest: PathBuf,
    /// Samples kept per probe (after the warm-up, which is a tenth of this, at least 10).
    #[arg(long, default_value_t = 1000)]
    pub samples: u32,
    /// Keep only probes whose name contains NAME, or whose family is NAME (repeatable):
    /// ipi-oneway, ipi-roundtrip, `rtt`, `halt`, `alpha.0->beta.0`, ...
    #[arg(long = "probe", value_name = "NAME")]
    pub probes: Vec<String>,
    /// Make a partition (default: the last) a noisy neighbour: memory sweep, console lines and an
    /// IPI storm inside itself, instead of probes.
    #[arg(long, value_name = "PARTITION", num_args = 0..=1, default_missing_value = "")]
    pub noise: Option<String>,
    /// Read a serial log (hardware capture) instead of running the emulator.
    #[arg(long, value_name = "FILE")]
    pub from_log: Option<PathBuf>,
    /// With --from-log: the log comes from the emulator (figures are emulated cycles, not time).
    #[arg(long, requires = "from_log")]
    pub emulated: bool,
    /// An earlier report.json to compare with.
    #[arg(long, value_name = "REPORT")]
    pub baseline: Option<PathBuf>,
    /// Where report.json, the plots and the serial logs go (default target/latency/<manifest>/report).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Emulator runs: IPIv offered (`on`), not (`off`) or `both`.
    #[arg(long, default_value = "both", value_parser = ["on", "off", "both"])]
    pub ipiv: String,
    /// Emulator runs: APIC-timer virtualization offered (`on`), not (`off`), `both` (each IPIv
    /// run twice), or `like-ipiv`: offered exactly in the runs with IPIv (the newest CPUs have
    /// both, today's neither).
    #[arg(long, default_value = "like-ipiv", value_parser = ["on", "off", "both", "like-ipiv"])]
    pub timer_virt: String,
    /// TSC cycles from one sample to the next.
    #[arg(long, default_value_t = 100_000)]
    pub gap_cycles: u64,
    /// Emulator instructions per CPU turn (1: CPUs interleave instruction by instruction, about
    /// 15 times slower than the default).
    #[arg(long, default_value_t = 16)]
    pub quantum: u32,
    /// Wall-clock seconds per emulator run before it counts as failed.
    #[arg(long = "timeout", default_value_t = 1800)]
    pub timeout_s: u64,
    /// Only build the latency image and print its path (for hardware).
    #[arg(long)]
    pub image_only: bool,
}

pub fn main(args: &LatencyArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the command produced: the report and the campaigns it came from, by run label.
pub struct Outcome {
    pub report: Report,
    pub campaigns: Vec<(String, campaign::Campaign)>,
}

fn run(args: &LatencyArgs) -> Result<bool, String> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.manifest));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let outcome = match &args.from_log {
        Some(file) => from_log(file, args.emulated)?,
        None => match in_emulator(args, &out)? {
            Some(outcome) => outcome,
            None => return Ok(true),
        },
    };
    publish(&out, &outcome, args.baseline.as_deref())?;
    Ok(true)
}

fn default_out(manifest: &Path) -> PathBuf {
    let stem = manifest
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("manifest");
    crate::workspace::root()
        .join("target/latency")
        .join(stem)
        .join("report")
}

/// Reads one log file into a one-run report.
pub fn from_log(file: &Path, emulated: bool) -> Result<Outcome, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.display().to_string();
    let campaign = campaign::assemble(&name, &log::read(&name, &text)?)?;
    let origin = report::Origin {
        source: if emulated { "emulator" } else { "hardware" }.into(),
        quantum: None,
        occupancy: None,
    };
    let label = if emulated { "emulator-log" } else { "hardware" };
    let run = report::run(label, &origin, &campaign);
    Ok(Outcome {
        report: Report {
            format: report::FORMAT.into(),
            board: None,
            manifest: None,
            runs: vec![run],
        },
        campaigns: vec![(label.to_string(), campaign)],
    })
}

/// The probe plan of the command line's manifest.
pub fn plan_for(args: &LatencyArgs) -> Result<tessera_latency_record::plan::Plan, String> {
    let model =
        tessera_manifest::check_files(&args.board, &args.manifest, tessera_manifest::Images::Skip)
            .map_err(|e| e.to_string())?;
    let noise = match &args.noise {
        None => None,
        Some(name) if name.is_empty() => Some(model.partitions.len() - 1),
        Some(name) => Some(
            model
                .partitions
                .iter()
                .position(|p| &p.name == name)
                .ok_or_else(|| {
                    format!(
                        "--noise {name}: no such partition in {}",
                        args.manifest.display()
                    )
                })?,
        ),
    };
    let choice = probes::Choice {
        samples: args.samples.max(1),
        warmup: (args.samples / 10).max(10),
        gap_cycles: args.gap_cycles,
        filter: args.probes.clone(),
        noise,
    };
    probes::plan(&model, &choice)
}

fn in_emulator(args: &LatencyArgs, out: &Path) -> Result<Option<Outcome>, String> {
    crate::toolchain::ensure()?;
    crate::emulator::ensure_iso_tools()?;
    let plan = plan_for(args)?;
    let (built, derived) = image::build(&args.board, &args.manifest, &plan)?;
    eprintln!(
        "latency image {} (manifest {}), {} probes",
        built.iso.display(),
        derived.display(),
        plan.probes().count()
    );
    if args.image_only {
        println!("{}", built.iso.display());
        return Ok(None);
    }
    let emulator = crate::emulator::ensure()?;
    let mut runs = Vec::new();
    let mut campaigns = Vec::new();
    for (ipiv, timer_virt) in run_modes(&args.ipiv, &args.timer_virt) {
        let label = run_label(ipiv, timer_virt);
        let mut spec = crate::emulator::RunSpec::new(built.iso.clone());
        spec.ipiv = ipiv;
        spec.timer_virt = timer_virt;
        spec.quantum = args.quantum;
        spec.timeout_s = args.timeout_s;
        spec.echo = false;
        let outcome = progress::run(&emulator, spec.clone(), &label, &plan)?;
        let log_file = out.join(format!("serial-{label}.log"));
        std::fs::write(&log_file, &outcome.serial)
            .map_err(|e| format!("{}: {e}", log_file.display()))?;
        if !outcome.passed() {
            crate::emulator::report(&spec, &outcome);
            return Err(format!(
                "the {label} run did not pass; its serial log is {}",
                log_file.display()
            ));
        }
        let name = log_file.display().to_string();
        let campaign = campaign::assemble(&name, &log::read(&name, &outcome.serial)?)?;
        check::against_hypervisor(&campaign)?;
        let origin = report::Origin {
            source: "emulator".into(),
            quantum: Some(args.quantum),
            occupancy: Some(occupancy(&plan)),
        };
        runs.push(report::run(&label, &origin, &campaign));
        campaigns.push((label, campaign));
    }
    Ok(Some(Outcome {
        report: Report {
            format: report::FORMAT.into(),
            board: Some(args.board.display().to_string()),
            manifest: Some(args.manifest.display().to_string()),
            runs,
        },
        campaigns,
    }))
}

/// The emulator runs (IPIv offered, APIC-timer virtualization offered) of `--ipiv` and
/// `--timer-virt`, IPIv-on runs first.
pub fn run_modes(ipiv: &str, timer_virt: &str) -> Vec<(bool, bool)> {
    let ipiv_modes: &[bool] = match ipiv {
        "on" => &[true],
        "off" => &[false],
        _ => &[true, false],
    };
    ipiv_modes
        .iter()
        .flat_map(|&ipiv| {
            let timer: &[bool] = match timer_virt {
                "on" => &[true],
                "off" => &[false],
                "both" => &[true, false],
                _ if ipiv => &[true],
                _ => &[false],
            };
            timer.iter().map(move |&t| (ipiv, t))
        })
        .collect()
}

/// A run's label (report, baseline matching, serial log file name): `ipiv-on-timer-virt-off`.
pub fn run_label(ipiv: bool, timer_virt: bool) -> String {
    let word = |on: bool| if on { "on" } else { "off" };
    format!("ipiv-{}-timer-virt-{}", word(ipiv), word(timer_virt))
}

/// How busy the emulated CPUs are (emulated cycles per instruction depend on it).
fn occupancy(plan: &tessera_latency_record::plan::Plan) -> String {
    let noise = plan.settings.noise_partition != tessera_latency_record::plan::NO_NOISE;
    format!(
        "occupancy: every CPU hosts a vCPU; the two of a probe work, the others wait halted or polling in their own probes, or have stopped{}",
        if noise { "; a noisy neighbour is busy" } else { "" }
    )
}

/// Writes report.json and the plots, prints the table and the baseline comparison.
fn publish(out: &Path, outcome: &Outcome, baseline_file: Option<&Path>) -> Result<(), String> {
    let json = serde_json::to_string_pretty(&outcome.report).map_err(|e| e.to_string())?;
    let report_file = out.join("report.json");
    std::fs::write(&report_file, json + "\n")
        .map_err(|e| format!("{}: {e}", report_file.display()))?;
    print!("{}", report::table(&outcome.report));
    let mut plots = 0;
    for (run, (_, campaign)) in outcome.report.runs.iter().zip(&outcome.campaigns) {
        plots += plot::write_all(out, run, campaign)?.len();
    }
    println!(
        "report: {} ({plots} SVG plots beside it)",
        report_file.display()
    );
    if let Some(file) = baseline_file {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let before: Report =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        print!(
            "{}",
            baseline::render(&baseline::compare(&outcome.report, &before))
        );
    }
    Ok(())
}
