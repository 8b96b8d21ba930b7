//! `cargo xtask emulator`: builds (once, cached) the IPIv-patched Bochs the project tests
//! in, and `cargo xtask emulator run IMAGE` boots an image in it.

mod apt;
mod bochsrc;
mod cache;
mod compile;
mod fetch;
mod iso;
mod result;
mod run;
mod scenario;
mod smoke;
pub mod source;

pub use iso::bootable_iso;
pub use result::{strip_ansi, Verdict};
pub use run::{hypervisor_summaries, run, Ending, RunOutcome, RunSpec};
pub use scenario::Scenario;
pub use smoke::build_runner_smoke;

use clap::{Args, Subcommand, ValueEnum};
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::ExitCode;

/// Environment variable naming another Bochs binary to use instead of the cached build.
pub const BOCHS_ENV: &str = "TESSERA_BOCHS";

/// An emulator ready to run: binary and firmware.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub bochs: PathBuf,
    pub bios: PathBuf,
    pub vga_bios: PathBuf,
}

#[derive(Args, Clone)]
pub struct EmulatorArgs {
    #[command(subcommand)]
    pub command: Option<EmulatorCommand>,
}

#[derive(Subcommand, Clone)]
pub enum EmulatorCommand {
    /// Boot IMAGE (Multiboot2 ELF, ISO or GPT disk image); exit 0 only if it reports `TESSERA-RESULT: pass`.
    Run(RunArgs),
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// Multiboot2 ELF (booted through a GRUB ISO built here), a bootable ISO, or a disk image
    /// (`cargo xtask image`'s .img, booted from the emulated hard disk).
    pub image: PathBuf,
    /// Number of CPUs (APIC IDs 0..N-1).
    #[arg(long, default_value_t = 4)]
    pub cpus: u32,
    /// Guest RAM in MiB.
    #[arg(long = "memory", default_value_t = 256)]
    pub memory_mib: u32,
    /// Seconds of wall-clock time before the run counts as failed.
    #[arg(long = "timeout", default_value_t = 300)]
    pub timeout_s: u64,
    /// Offer IPI virtualization in IA32_VMX_PROCBASED_CTLS3 (`off` tests fallbacks).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub ipiv: OnOff,
    /// Offer APIC-timer virtualization in IA32_VMX_PROCBASED_CTLS3 (`off` tests the trapped timer).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub timer_virt: OnOff,
    /// Instructions a CPU runs before the next one gets its turn (1 when timing across CPUs).
    #[arg(long, default_value_t = 16)]
    pub quantum: u32,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnOff {
    On,
    Off,
}

/// Entry point of `cargo xtask emulator [run ...]`.
pub fn main(args: &EmulatorArgs) -> ExitCode {
    let emulator = match ensure() {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &args.command {
        None => {
            println!("{}", emulator.bochs.display());
            ExitCode::SUCCESS
        }
        Some(EmulatorCommand::Run(run_args)) => run_main(&emulator, run_args),
    }
}

fn run_main(emulator: &Emulator, args: &RunArgs) -> ExitCode {
    let spec = RunSpec {
        cpus: args.cpus,
        memory_mib: args.memory_mib,
        timeout_s: args.timeout_s,
        ipiv: args.ipiv == OnOff::On,
        timer_virt: args.timer_virt == OnOff::On,
        quantum: args.quantum,
        ..RunSpec::new(args.image.clone())
    };
    match run(emulator, &spec) {
        Ok(outcome) => {
            report(&spec, &outcome);
            if outcome.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints one run's verdict, time and speed (and where its files are if it did not pass).
pub fn report(spec: &RunSpec, outcome: &RunOutcome) {
    let verdict = match &outcome.ending {
        Ending::Reported(Verdict::Pass) => "pass".to_string(),
        Ending::Reported(Verdict::Fail(why)) => format!("fail: {why}"),
        Ending::Timeout => format!(
            "timeout after {} s without a TESSERA-RESULT line",
            spec.timeout_s
        ),
        Ending::EmulatorExited(how) => format!("emulator exited before a result: {how}"),
    };
    let ips = outcome
        .ips
        .map_or("speed not reported (run under 1 s)".to_string(), |v| {
            format!("{:.1} M instructions/s per CPU", v as f64 / 1e6)
        });
    let first = outcome.first_output.map_or("no output".to_string(), |d| {
        format!("first COM1 output after {:.1} s", d.as_secs_f64())
    });
    eprintln!(
        "emulator: {} (ipiv {}, timer-virt {}): {verdict}; {:.1} s ({first}), {ips}",
        spec.image.display(),
        if spec.ipiv { "on" } else { "off" },
        if spec.timer_virt { "on" } else { "off" },
        outcome.elapsed.as_secs_f64()
    );
    if !spec.echo {
        for line in outcome.summary_lines() {
            eprintln!("emulator: {line}");
        }
    }
    if let Some(dir) = &outcome.kept_dir {
        eprintln!("emulator: run files kept in {}", dir.display());
    }
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    apt::is_root()
}

/// Installs whatever of the Debian packages `wanted` is missing (as root), or says what to run.
pub fn ensure_packages(wanted: &[&str]) -> Result<(), String> {
    apt::ensure_packages(wanted)
}

/// Installs the tools that turn an ELF into a bootable ISO (GRUB, xorriso), if missing.
pub fn ensure_iso_tools() -> Result<(), String> {
    apt::ensure_packages(&apt::RUNNER_PACKAGES)
}

/// Makes the emulator ready (installing packages, downloading, building as needed) and says
/// which binary is used.
pub fn ensure() -> Result<Emulator, String> {
    let layout = cache::Layout::of_workspace();
    // One preparation at a time per checkout (packages, downloads, build); a second caller
    // waits, then finds everything in place. Dropping `_lock` releases it.
    let _lock = lock(&layout)?;
    apt::ensure_packages(&apt::RUNNER_PACKAGES)?;
    let firmware = fetch::ensure_bios(&layout)?;
    let (bochs, origin) = match std::env::var_os(BOCHS_ENV) {
        Some(path) => (
            checked_override(PathBuf::from(path))?,
            format!("from {BOCHS_ENV}"),
        ),
        None => (build(&layout)?, "cached build, IPIv patch".to_string()),
    };
    eprintln!("emulator: using {} ({origin})", bochs.display());
    Ok(Emulator {
        bochs,
        bios: firmware.bios,
        vga_bios: firmware.vga_bios,
    })
}

fn checked_override(path: PathBuf) -> Result<PathBuf, String> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{BOCHS_ENV}={}: no such file (expected a Bochs binary)",
            path.display()
        ))
    }
}

fn build(layout: &cache::Layout) -> Result<PathBuf, String> {
    let patch_paths = cache::patch_paths();
    let mut patches = Vec::new();
    for path in &patch_paths {
        patches.extend(fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let key = cache::cache_key(&patches, &cache::CONFIGURE_FLAGS);
    if layout.bochs(&key).is_file() {
        return Ok(layout.bochs(&key));
    }
    apt::ensure_packages(&apt::BUILD_PACKAGES)?;
    fetch::ensure_tarballs(layout)?;
    compile::ensure_built(layout, &key, &patch_paths)
}

fn lock(layout: &cache::Layout) -> Result<File, String> {
    fs::create_dir_all(&layout.root).map_err(|e| format!("{}: {e}", layout.root.display()))?;
    let path = layout.root.join("prepare.lock");
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}
