//! `cargo xtask explain`: print the plan (APIC-ID map, PID-pointer tables, routes, heap), as text
//! or with `--json` as the JSON contract on stdout. Images are not read (use `check` for them).

use crate::cli::ExplainArgs;
use std::process::ExitCode;
use tessera_manifest::Images;

/// Prints the report, or the manifest's errors with exit code 1.
pub fn main(args: &ExplainArgs) -> ExitCode {
    match tessera_manifest::explain(&args.files.board, &args.files.manifest, Images::Skip) {
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
