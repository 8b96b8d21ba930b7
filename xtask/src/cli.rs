//! Command-line grammar of `cargo xtask`.

use crate::manifest_args::ManifestArgs;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Tessera's host commands")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Validate a board + partitions manifest; exit 1 with every error found.
    Check(ManifestArgs),
    /// Print the plan: APIC-ID map, PID-pointer tables, routes, heap.
    Explain(ExplainArgs),
    /// Build a bootable image for a board + manifest (guests, hypervisor, GRUB ISO and disk image in target/images).
    Image(crate::image::ImageArgs),
    /// Print an appliance disk image's metadata and check every digest it records (exit 1 on a mismatch).
    Inspect(crate::appliance::InspectArgs),
    /// Write a verified disk image to a block device or file, fsync, read back and compare.
    Flash(crate::flash::FlashArgs),
    /// Build the image (default manifest) and boot it in the emulator, COM1 shown live.
    Run(crate::image::RunArgs),
    /// Build (once, cached) and print the IPIv-patched emulator; `emulator run IMAGE` boots an image.
    Emulator(crate::emulator::EmulatorArgs),
    /// Run every test: host tests and emulator scenarios.
    Test(TestArgs),
    /// Measure IPI latency and exits per path: emulator runs or a hardware serial log, report.json,
    /// a table, SVG plots, and a comparison with a baseline.
    Latency(crate::latency::LatencyArgs),
    /// Build (once, cached) the Hermit applications of tests/hermit/ into target/guests/.
    Hermit,
    /// Print each crate's top-level modules in layers; exit 1 on a cycle between them.
    Layers,
    /// Run every emulator scenario built with the release profile (or `--debug`) and print each
    /// run's host and start-up stack use; exit 1 when a stack keeps less than its margin above the
    /// deepest use.
    Stacks(StacksArgs),
}

#[derive(Args, Clone)]
pub struct StacksArgs {
    /// Build the scenarios with the debug profile (as `cargo xtask test` does) instead of release.
    #[arg(long)]
    pub debug: bool,
    /// Run only the scenarios whose name contains this text (repeatable).
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
}

#[derive(Args, Clone)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub files: ManifestArgs,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Lay the heap out for the release build (as `cargo xtask image --release` builds it);
    /// without it, for the debug build (deeper host stacks), as `cargo xtask image` builds it.
    #[arg(long)]
    pub release: bool,
}

#[derive(Args, Clone)]
pub struct TestArgs {
    /// Run only the host tests (no emulator).
    #[arg(long)]
    pub host_only: bool,
    /// Run only the emulator scenarios (skip host tests and the kernel build).
    #[arg(long, conflicts_with = "host_only")]
    pub emulator_only: bool,
    /// Run only the emulator scenarios whose name contains this text (repeatable).
    #[arg(long = "scenario", value_name = "NAME", conflicts_with = "host_only")]
    pub scenarios: Vec<String>,
}
