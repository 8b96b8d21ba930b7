//! `cargo xtask explain`: print the plan (APIC-ID map, PID-pointer tables, routes, heap), as text
//! or with `--json` as the JSON contract on stdout. Images are not read (use `check` for them).
//! The heap is laid out for the debug build, or with `--release` for the release build, as
//! `cargo xtask image` builds the hypervisor with or without `--release`.

use crate::cli::ExplainArgs;
use std::process::ExitCode;
use tessera_manifest::heap::Build;
use tessera_manifest::Images;

/// Prints the report, or the manifest's errors with exit code 1.
pub fn main(args: &ExplainArgs) -> ExitCode {
    let build = match args.release {
        true => Build::Release,
        false => Build::Debug,
    };
    let (board, manifest) = (&args.files.board, &args.files.manifest);
    match tessera_manifest::explain_for(board, manifest, Images::Skip, build) {
        Ok(report) if args.json => {
            println!("{}", report.json);
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", report.text);
            println!("(images not read here; `cargo xtask check` validates them)");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
