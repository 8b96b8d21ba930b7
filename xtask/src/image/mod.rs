//! `cargo xtask image` and `cargo xtask run`: one bootable, versioned image for a board + manifest.
//! Steps: every test guest (target/guests/<name>), the hypervisor for x86_64-unknown-none with the
//! manifest's images embedded, then a GRUB ISO at target/images/<manifest stem>.iso (rebuilt only
//! when the hypervisor ELF changed). `run` boots that ISO in the emulator with COM1 shown live.

mod costs;
mod elf_size;
mod footprint;
mod guests;
mod iso_cache;

use crate::emulator::{self, OnOff, RunSpec};
use crate::manifest_args::ManifestArgs;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Clone)]
pub struct ImageArgs {
    #[command(flatten)]
    pub files: ManifestArgs,
    /// Build the hypervisor with the release profile.
    #[arg(long)]
    pub release: bool,
}

#[derive(Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Offer IPI virtualization in the emulated CPU (`off` runs the fallback paths).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub ipiv: OnOff,
    /// Offer APIC-timer virtualization in the emulated CPU (`off` runs the trapped timer).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub timer_virt: OnOff,
    /// Seconds of wall-clock time before the run counts as failed.
    #[arg(long = "timeout", default_value_t = 600)]
    pub timeout_s: u64,
}

/// A built image.
#[derive(Debug, Clone)]
pub struct Built {
    pub iso: PathBuf,
    pub elf: PathBuf,
    pub iso_bytes: u64,
    /// The hypervisor's loadable segments: bytes in memory, bytes from the file.
    pub loaded_bytes: (u64, u64),
    pub version: String,
    /// The board and manifest files (absolute) and what checking them gave.
    pub board: PathBuf,
    pub manifest: PathBuf,
    pub model: tessera_manifest::model::Model,
}

impl Built {
    /// Writes the appliance disk image of this build into `out_dir`.
    pub fn appliance(&self, out_dir: &Path) -> Result<crate::appliance::Built, String> {
        crate::appliance::build(&crate::appliance::Request {
            root: &crate::workspace::root(),
            board: &self.board,
            manifest: &self.manifest,
            model: &self.model,
            hypervisor_elf: &self.elf,
            version: &self.version,
            out_dir,
        })
    }
}

/// `cargo xtask image`.
pub fn main(args: &ImageArgs) -> ExitCode {
    match build_and_say(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask run`: the image, then the emulator with COM1 live; exit code from the result.
pub fn run_main(args: &RunArgs) -> ExitCode {
    let emulator = match emulator::ensure() {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let built = match build_and_say(&args.image) {
        Ok(built) => built,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let spec = RunSpec {
        timeout_s: args.timeout_s,
        ipiv: args.ipiv == OnOff::On,
        timer_virt: args.timer_virt == OnOff::On,
        ..RunSpec::new(built.iso)
    };
    match emulator::run(&emulator, &spec) {
        Ok(outcome) => {
            emulator::report(&spec, &outcome);
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

fn build_and_say(args: &ImageArgs) -> Result<Built, String> {
    crate::toolchain::ensure()?;
    emulator::ensure_iso_tools()?;
    emulator::ensure_packages(&crate::appliance::PACKAGES)?;
    let built = build(
        &args.files.board,
        &args.files.manifest,
        args.release,
        &crate::workspace::images_dir(),
    )?;
    let kib = |bytes: u64| bytes.div_ceil(1024);
    println!(
        "image {}: {:.1} MiB, tessera {}; hypervisor {} loads {} KiB ({} KiB from the file)",
        built.iso.display(),
        built.iso_bytes as f64 / (1024.0 * 1024.0),
        built.version,
        built.elf.display(),
        kib(built.loaded_bytes.0),
        kib(built.loaded_bytes.1)
    );
    let elf = std::fs::read(&built.elf).map_err(|e| format!("{}: {e}", built.elf.display()))?;
    let build = match args.release {
        true => tessera_manifest::heap::Build::Release,
        false => tessera_manifest::heap::Build::Debug,
    };
    let table = footprint::table(&elf, &built.model, build)
        .map_err(|e| format!("{}: {e}", built.elf.display()))?;
    print!("{}", footprint::render(&table));
    let costs = costs::costs(&elf, &built.model, build)
        .map_err(|e| format!("{}: {e}", built.elf.display()))?;
    print!("{}", costs::render(&costs));
    let started = std::time::Instant::now();
    let disk = built.appliance(&crate::workspace::images_dir())?;
    println!(
        "disk image {}: {:.1} MiB (GPT: BIOS boot, EFI system, metadata), built in {:.1} s; \
         `cargo xtask inspect` checks it, `cargo xtask flash` writes it",
        disk.path.display(),
        disk.bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    );
    for stale in &disk.removed {
        println!(
            "removed {} (another version of the same manifest)",
            stale.display()
        );
    }
    Ok(built)
}

/// Builds every test guest to target/guests/<name>.
pub fn build_guests() -> Result<(), String> {
    build_guests_in(&crate::workspace::cargo_target_dir(
        &crate::workspace::root(),
    ))
}

/// `build_guests` with cargo's target directory `target_dir`.
fn build_guests_in(target_dir: &Path) -> Result<(), String> {
    let root = crate::workspace::root();
    let guests = guests::discover(&root.join("tests").join("guests"))?;
    guests::build(&guests, target_dir, &root.join("target").join("guests"))?;
    Ok(())
}

/// Builds the guests, the hypervisor for `board` + `manifest` and its ISO in `out_dir`
/// (`<manifest stem>.iso` and `.elf`). Paths are taken relative to the current directory.
pub fn build(
    board: &Path,
    manifest: &Path,
    release: bool,
    out_dir: &Path,
) -> Result<Built, String> {
    build_with_features(board, manifest, release, &[], out_dir)
}

/// `build` with cargo features of the hypervisor enabled (a scenario's test-only hook).
pub fn build_with_features(
    board: &Path,
    manifest: &Path,
    release: bool,
    features: &[String],
    out_dir: &Path,
) -> Result<Built, String> {
    let target_dir = crate::workspace::cargo_target_dir(&crate::workspace::root());
    build_in(board, manifest, (release, features), out_dir, &target_dir)
}

/// `build` with cargo's target directory `target_dir` (the guests still go to target/guests of
/// the workspace, where manifests refer to them).
pub fn build_in(
    board: &Path,
    manifest: &Path,
    (release, features): (bool, &[String]),
    out_dir: &Path,
    target_dir: &Path,
) -> Result<Built, String> {
    let root = crate::workspace::root();
    build_guests_in(target_dir)?;
    let board = absolute(board)?;
    let manifest = absolute(manifest)?;
    if crate::hermit::wanted_by(&manifest)? {
        crate::hermit::ensure()?;
    }
    // The same checks as the hypervisor's build script, reported without cargo's noise.
    let model = tessera_manifest::check_files(&board, &manifest, tessera_manifest::Images::Load)
        .map_err(|errors| {
            let text = errors.to_string();
            text.strip_prefix("error: ").unwrap_or(&text).to_string()
        })?;
    let version = crate::workspace::version::describe(&root);
    let kernel = build_hypervisor(&board, &manifest, (release, features), &version, target_dir)?;
    let stem = manifest
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: no file name", manifest.display()))?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let elf = crate::workspace::copy_if_changed(&kernel, &out_dir.join(format!("{stem}.elf")))?;
    let iso = iso_cache::ensure_iso(&elf, &out_dir.join(format!("{stem}.iso")))?;
    let iso_bytes = std::fs::metadata(&iso).map_err(|e| e.to_string())?.len();
    let elf_bytes = std::fs::read(&elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let loaded_bytes =
        elf_size::loaded_bytes(&elf_bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(Built {
        iso,
        elf,
        iso_bytes,
        loaded_bytes,
        version,
        board,
        manifest,
        model,
    })
}

fn build_hypervisor(
    board: &Path,
    manifest: &Path,
    (release, features): (bool, &[String]),
    version: &str,
    target_dir: &Path,
) -> Result<PathBuf, String> {
    let what = format!(
        "the hypervisor for {} + {}",
        board.display(),
        manifest.display()
    );
    let dir = crate::workspace::bare_metal::BareMetal {
        packages: &["tessera"],
        profile: if release { "release" } else { "dev" },
        target_dir,
        env: vec![
            ("TESSERA_BOARD", board.into()),
            ("TESSERA_MANIFEST", manifest.into()),
            ("TESSERA_VERSION", version.into()),
        ],
        env_remove: &["TESSERA_IMAGES"],
        features,
        what: &what,
    }
    .build()?;
    Ok(dir.join("tessera"))
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))
}
