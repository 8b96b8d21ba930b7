//! `cargo xtask check`: validate a board + partitions manifest; exit 1 with every error found.
//! Images are read and checked unless `TESSERA_IMAGES=skip`.

use crate::manifest_args::ManifestArgs;
use std::process::ExitCode;
use tessera_manifest::Images;

/// Whether image files are checked (`TESSERA_IMAGES=skip` turns it off, as for builds).
pub fn images_from_env() -> Images {
    match std::env::var("TESSERA_IMAGES") {
        Ok(v) if v == "skip" => Images::Skip,
        _ => Images::Load,
    }
}

/// Runs the check; prints `ok: ...` on success or the errors on stderr.
pub fn main(args: &ManifestArgs) -> ExitCode {
    match tessera_manifest::check_files(&args.board, &args.manifest, images_from_env()) {
        Ok(model) => {
            println!(
                "ok: {} + {}: {} partition(s) on board `{}`",
                args.board.display(),
                args.manifest.display(),
                model.partitions.len(),
                model.board
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
