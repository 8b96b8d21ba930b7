//! What the manifest fuzz targets run on each input: check a board + partitions pair and, when
//! valid, plan every PID-pointer table; render the errors otherwise. Nothing may panic.

use tessera_manifest::diag::SourceFile;
use tessera_manifest::load::Sources;
use tessera_manifest::{check, planner, Images};

/// Checks `board` + `manifest` (images skipped) and plans or renders the result.
pub fn check_and_plan(board: &str, manifest: &str) {
    let sources = Sources {
        board: SourceFile { path: "board.toml".into(), text: board.into() },
        manifest: SourceFile { path: "manifest.toml".into(), text: manifest.into() },
        manifest_dir: "/nonexistent".into(),
    };
    match check::check(&sources, Images::Skip) {
        Ok(model) => {
            for p in 0..model.partitions.len() {
                let _ = planner::pid_entries(&model, p);
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
}
