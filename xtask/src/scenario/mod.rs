//! Guest scenarios of `cargo xtask test`: each tests/scenarios/<name>.toml is a partitions manifest
//! for board/emulator.toml (guests referenced relative to it) whose `#@` header says how to run it
//! and what COM1 must show (see `header`). Adding a scenario is adding one such file. Each becomes
//! one emulator run per `ipiv` value; it passes when the hypervisor reports `TESSERA-RESULT: pass`,
//! the expected lines appear in order, no forbidden line appears, the SUMMARY pairs are printed and
//! the patterns for its `ipiv` mode (`expect_ipiv`) match.

mod expect;
mod header;

use crate::emulator::scenarios::Scenario;
use crate::emulator::{workspace_root, RunSpec};
use header::Ipiv;
use std::path::{Path, PathBuf};

/// The board every scenario runs on.
const BOARD: &str = "board/emulator.toml";

/// Builds the image of each scenario selected by `filter` (its file stem contains one of the
/// texts; all when empty) and returns its emulator runs.
pub fn scenarios(filter: &[String]) -> Result<Vec<Scenario>, String> {
    let root = workspace_root();
    let out_dir = crate::image::images_dir().join("scenarios");
    let mut list = Vec::new();
    for file in scenario_files(&root.join("tests").join("scenarios"))? {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if crate::emulator::scenarios::selected(stem, filter) {
            list.extend(scenario_runs(&root, &file, &out_dir)?);
        }
    }
    Ok(list)
}

/// The `.toml` files of `dir`, sorted.
fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn scenario_runs(root: &Path, file: &Path, out_dir: &Path) -> Result<Vec<Scenario>, String> {
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let source = std::fs::read_to_string(file).map_err(|e| format!("{shown}: {e}"))?;
    let header = header::parse(&shown, &source)?;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    eprintln!("==> scenario image {stem}");
    let built = crate::image::build(&root.join(BOARD), file, false, out_dir)?;
    let runs = header.ipiv.iter().map(|&ipiv| {
        let mut spec = RunSpec::new(built.iso.clone());
        spec.ipiv = ipiv == Ipiv::On;
        spec.timeout_s = header.timeout_s;
        let name = match header.ipiv.len() {
            1 => stem.to_string(),
            _ => format!("{stem} --ipiv {}", if spec.ipiv { "on" } else { "off" }),
        };
        let (expected, forbidden) = (header.expect.clone(), header.forbid.clone());
        let in_mode = header.expect_ipiv.get(&ipiv).cloned().unwrap_or_default();
        Scenario {
            name,
            spec,
            required_summary: header.summary.clone().into_iter().collect(),
            check: Some(Box::new(move |outcome| {
                expect::check(&outcome.serial, &expected, &forbidden)?;
                let group = [expect::Expectation::AnyOrder(in_mode.clone())];
                expect::check(&outcome.serial, &group, &[])
            })),
        }
    });
    Ok(runs.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_has_a_valid_header() {
        let root = workspace_root();
        let files = scenario_files(&root.join("tests/scenarios")).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in ["hello", "smp"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing: {names:?}"
            );
        }
        for file in &files {
            let source = std::fs::read_to_string(file).unwrap();
            header::parse(&file.display().to_string(), &source).unwrap();
        }
    }

    #[test]
    fn every_shipped_scenario_is_a_valid_manifest_for_the_emulator_board() {
        let root = workspace_root();
        for file in scenario_files(&root.join("tests/scenarios")).unwrap() {
            let checked = tessera_manifest::check_files(
                &root.join(BOARD),
                &file,
                tessera_manifest::Images::Skip,
            );
            assert!(
                checked.is_ok(),
                "{}: {}",
                file.display(),
                checked.err().unwrap()
            );
        }
    }
}
