//! `cargo xtask test`: every test the project has, host tests first.

use crate::cli::TestArgs;
use crate::toolchain;
use std::process::{Command, ExitCode};

/// Runs the host tests of every workspace crate, builds the bare-metal kernel, then (unless
/// `--host-only`) boots the emulator scenarios.
pub fn main(args: &TestArgs) -> ExitCode {
    if let Err(e) = toolchain::ensure() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let steps: [(&str, &[&str]); 2] = [
        ("host tests", &["test", "--workspace"]),
        (
            "kernel build",
            &["build", "-p", "tessera", "--target", "x86_64-unknown-none"],
        ),
    ];
    let skip = if args.emulator_only { steps.len() } else { 0 };
    for (what, args) in steps.into_iter().skip(skip) {
        eprintln!("==> {what}: cargo {}", args.join(" "));
        let ok = Command::new(env!("CARGO"))
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("error: {what} failed");
            return ExitCode::FAILURE;
        }
    }
    if !args.emulator_only && !manifest_smoke() {
        return ExitCode::FAILURE;
    }
    if !args.host_only {
        eprintln!("==> emulator scenarios");
        if !crate::emulator::scenarios::run_all() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
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
