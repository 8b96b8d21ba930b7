//! `cargo xtask test`: every test the project has, host tests first.

use crate::cli::TestArgs;
use crate::toolchain;
use std::process::{Command, ExitCode};

/// Runs the host tests of every workspace crate, builds the default image (guests, bare-metal
/// hypervisor, ISO), then (unless `--host-only`) boots the emulator scenarios.
pub fn main(args: &TestArgs) -> ExitCode {
    if let Err(e) = toolchain::ensure() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let host_tier = args.emulator_only
        || (crate::layers::check()
            && host_tests()
            && default_image()
            && manifest_smoke()
            && reproducible_image());
    if !host_tier {
        return ExitCode::FAILURE;
    }
    if !args.host_only {
        eprintln!("==> emulator scenarios");
        if !crate::suite::run_all(&args.scenarios) || !uefi_boot(&args.scenarios) {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `cargo test --workspace`: every crate's host tests.
fn host_tests() -> bool {
    eprintln!("==> host tests: cargo test --workspace");
    let ok = Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("error: host tests failed");
    }
    ok
}

/// `cargo xtask image` of the default board and manifest (what `cargo xtask run` boots), and
/// `cargo xtask inspect` of its disk image.
fn default_image() -> bool {
    eprintln!("==> default image: guests, hypervisor, ISO, disk image");
    match build_and_inspect_default() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: default image: {e}");
            false
        }
    }
}

fn build_and_inspect_default() -> Result<(), String> {
    crate::emulator::ensure_iso_tools()?;
    crate::emulator::ensure_packages(&crate::appliance::PACKAGES)?;
    let root = crate::workspace::root();
    let board = root.join("board/emulator.toml");
    let manifest = root.join("partitions/default.toml");
    let images = crate::workspace::images_dir();
    let built = crate::image::build(&board, &manifest, false, &images)?;
    eprintln!("image {} ({} bytes)", built.iso.display(), built.iso_bytes);
    let disk = built.appliance(&images)?;
    let report = crate::appliance::inspect_file(&disk.path)?;
    let bad: Vec<String> = report
        .mismatches()
        .iter()
        .map(|c| format!("{}: {}", c.what, c.problem.as_deref().unwrap_or("")))
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "inspect {}: {}",
            disk.path.display(),
            bad.join("; ")
        ));
    }
    eprintln!("==> inspect and flash as commands, on copies and regular files");
    for said in crate::flash::commands_check::check(&disk.path, &report.metadata)? {
        eprintln!("commands: {said}");
    }
    eprintln!("==> flash to loop devices");
    for said in crate::flash::loop_device::check(&disk.path)? {
        eprintln!("flash: {said}");
    }
    eprintln!(
        "disk image {} ({} bytes): all {} inspect checks match",
        disk.path.display(),
        disk.bytes,
        report.checks.len()
    );
    Ok(())
}

/// The default disk image built twice, in two cargo target directories, is byte-identical.
fn reproducible_image() -> bool {
    eprintln!("==> disk image reproducibility");
    match crate::suite::reproducible::check() {
        Ok(said) => {
            eprintln!("reproducible: {said}");
            true
        }
        Err(e) => {
            eprintln!("error: disk image reproducibility: {e}");
            false
        }
    }
}

/// `cargo xtask check` / `explain` on the shipped manifests and a broken one.
fn manifest_smoke() -> bool {
    eprintln!("==> manifest commands: check and explain");
    match crate::manifest_smoke::run() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: manifest commands: {e}");
            false
        }
    }
}

/// The default disk image booted by OVMF in QEMU to Tessera's banner and machine refusal.
fn uefi_boot(filter: &[String]) -> bool {
    if !crate::suite::selected(crate::appliance::uefi::NAME, filter) {
        return true;
    }
    eprintln!("==> uefi-boot: the default disk image under QEMU + OVMF");
    let result = crate::suite::default_disk()
        .and_then(|disk| crate::appliance::uefi::check(&disk.path, &disk.metadata));
    match result {
        Ok(said) => {
            eprintln!("uefi-boot: {said}");
            true
        }
        Err(e) => {
            eprintln!("error: uefi-boot: {e}");
            false
        }
    }
}
