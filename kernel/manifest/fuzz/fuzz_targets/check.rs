//! Fuzz target: parse and validate an arbitrary board + partitions pair (split at the first NUL
//! byte), then plan PID tables and the heap sequence when valid. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_manifest::diag::SourceFile;
use tessera_manifest::load::Sources;
use tessera_manifest::{check, planner, Images};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (board, manifest) = text.split_once('\0').unwrap_or((text, ""));
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
});
