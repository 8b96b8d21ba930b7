//! Fuzz target: an arbitrary partitions file against the shipped emulator board, so that mutations
//! of valid manifests reach every semantic check. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_manifest::diag::SourceFile;
use tessera_manifest::load::Sources;
use tessera_manifest::{check, planner, Images};

const BOARD: &str = include_str!("../../../../board/emulator.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = std::str::from_utf8(data) else { return };
    let sources = Sources {
        board: SourceFile { path: "board.toml".into(), text: BOARD.into() },
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
