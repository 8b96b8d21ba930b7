//! `cargo xtask`: Tessera's host commands; each command lives in its own module.
#![forbid(unsafe_code)]

mod appliance;
mod check;
mod cli;
mod emulator;
mod explain;
mod flash;
mod hermit;
mod image;
mod latency;
mod layers;
mod manifest_args;
mod manifest_smoke;
mod stacks;
mod suite;
mod test;
mod toolchain;
mod workspace;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::Cli::parse().command {
        cli::Command::Test(args) => test::main(&args),
        cli::Command::Check(args) => check::main(&args),
        cli::Command::Explain(args) => explain::main(&args),
        cli::Command::Emulator(args) => emulator::main(&args),
        cli::Command::Image(args) => image::main(&args),
        cli::Command::Inspect(args) => appliance::inspect_main(&args),
        cli::Command::Flash(args) => flash::main(&args),
        cli::Command::Run(args) => image::run_main(&args),
        cli::Command::Latency(args) => latency::main(&args),
        cli::Command::Hermit => hermit::main(),
        cli::Command::Layers => layers::main(),
        cli::Command::Stacks(args) => {
            let build = match args.debug {
                true => tessera_manifest::heap::Build::Debug,
                false => tessera_manifest::heap::Build::Release,
            };
            stacks::main(&args.scenarios, build)
        }
    }
}
