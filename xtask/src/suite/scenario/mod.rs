//! Guest scenarios of `cargo xtask test`: each tests/scenarios/<name>.toml is a partitions manifest
//! for board/emulator.toml (guests referenced relative to it) whose `#@` header says how to run it
//! and what COM1 must show (see `header`). Adding a scenario is adding one such file. Each becomes
//! one emulator run per `ipiv` value; it passes when the hypervisor reports the header's `verdict`
//! (`TESSERA-RESULT: pass` unless it says `fail`), the expected lines appear in order, no forbidden line appears, the SUMMARY pairs are printed and
//! the patterns for its `ipiv` mode (`expect_ipiv`) match.

mod expect;
mod header;

use crate::emulator::RunSpec;
use crate::emulator::Scenario;
use crate::workspace::root as workspace_root;
use header::Ipiv;
use std::path::{Path, PathBuf};

/// The board every scenario runs on.
const BOARD: &str = "board/emulator.toml";

/// Builds the image of each scenario selected by `filter` (its file stem contains one of the
/// texts; all when empty) and returns its emulator runs.
pub fn scenarios(filter: &[String]) -> Result<Vec<Scenario>, String> {
    selected_runs(filter, "scenarios", &Build::DEBUG)
}

/// The same runs with every image built with the release profile (`cargo xtask stacks`).
pub fn release_scenarios(filter: &[String]) -> Result<Vec<Scenario>, String> {
    let build = Build {
        release: true,
        name: None,
    };
    selected_runs(filter, "scenarios-release", &build)
}

/// The runs of the scenarios `filter` selects, their images built as `build` says into
/// target/images/`images`.
fn selected_runs(filter: &[String], images: &str, build: &Build) -> Result<Vec<Scenario>, String> {
    let root = workspace_root();
    let out_dir = crate::workspace::images_dir().join(images);
    let mut list = Vec::new();
    for file in scenario_files(&root.join("tests").join("scenarios"))? {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if crate::suite::selected(stem, filter) {
            list.extend(scenario_runs(&root, &file, &out_dir, build)?);
        }
    }
    Ok(list)
}

/// How a scenario's image is built and its runs named.
struct Build<'a> {
    release: bool,
    /// The runs' name instead of the file stem (`None`: the stem).
    name: Option<&'a str>,
}

impl Build<'_> {
    /// What every scenario of tests/scenarios gets: the debug build, named by its stem.
    const DEBUG: Build<'static> = Build {
        release: false,
        name: None,
    };
}

/// The runs of scenario `stem` (tests/scenarios/<stem>.toml) with its image built with the
/// release profile, named `name` (plus the modes that vary), judged by its header as usual.
pub fn release_runs(stem: &str, name: &str) -> Result<Vec<Scenario>, String> {
    let root = workspace_root();
    let file = root
        .join("tests")
        .join("scenarios")
        .join(format!("{stem}.toml"));
    let out_dir = crate::workspace::images_dir().join("scenarios-release");
    let build = Build {
        release: true,
        name: Some(name),
    };
    scenario_runs(&root, &file, &out_dir, &build)
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

fn scenario_runs(
    root: &Path,
    file: &Path,
    out_dir: &Path,
    build: &Build,
) -> Result<Vec<Scenario>, String> {
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let source = std::fs::read_to_string(file).map_err(|e| format!("{shown}: {e}"))?;
    let header = header::parse(&shown, &source)?;
    let model =
        tessera_manifest::check_files(&root.join(BOARD), file, tessera_manifest::Images::Skip)
            .map_err(|e| format!("{shown}: {e}"))?;
    let names: Vec<&str> = model.partitions.iter().map(|p| p.name.as_str()).collect();
    patterns_name_partitions(&shown, &header, &names)?;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    let profile = if build.release { " (release)" } else { "" };
    eprintln!("==> scenario image {stem}{profile}");
    let built = crate::image::build_with_features(
        &root.join(BOARD),
        file,
        build.release,
        &header.hypervisor_features,
        out_dir,
    )?;
    let stem = build.name.unwrap_or(stem);
    let modes = header
        .ipiv
        .iter()
        .flat_map(|&ipiv| header.timer_virt.iter().map(move |&timer| (ipiv, timer)));
    let runs = modes.map(|(ipiv, timer_virt)| {
        let mut spec = RunSpec::new(built.iso.clone());
        spec.ipiv = ipiv == Ipiv::On;
        spec.timer_virt = timer_virt == Ipiv::On;
        spec.timeout_s = header.timeout_s;
        let name = run_name(stem, &header, spec.ipiv, spec.timer_virt);
        let (expected, forbidden) = (header.expect.clone(), header.forbid.clone());
        let mut in_mode = header.expect_ipiv.get(&ipiv).cloned().unwrap_or_default();
        let in_timer_mode = header.expect_timer_virt.get(&timer_virt);
        in_mode.extend(in_timer_mode.into_iter().flatten().cloned());
        Scenario {
            name,
            spec,
            expect_pass: header.verdict == header::Verdict::Pass,
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

/// `<stem>`, followed by ` --ipiv <mode>` and ` --timer-virt <mode>` for the dimensions that vary.
fn run_name(stem: &str, header: &header::Header, ipiv: bool, timer_virt: bool) -> String {
    let word = |on: bool| if on { "on" } else { "off" };
    let mut name = stem.to_string();
    if header.ipiv.len() > 1 {
        name += &format!(" --ipiv {}", word(ipiv));
    }
    if header.timer_virt.len() > 1 {
        name += &format!(" --timer-virt {}", word(timer_virt));
    }
    name
}

/// `Err` naming the first pattern of `header` meant for a partition not in `names` (a typo there
/// would make the pattern never match).
fn patterns_name_partitions(
    shown: &str,
    header: &header::Header,
    names: &[&str],
) -> Result<(), String> {
    for pattern in header.patterns() {
        if let Some(partition) = expect::partition_of(pattern) {
            if !names.contains(&partition) {
                return Err(format!(
                    "{shown}: scenario header: pattern `{pattern}` is for partition `{partition}`, \
                     which the manifest does not have (its partitions: {})",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(())
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
            let model = checked.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let names: Vec<&str> = model.partitions.iter().map(|p| p.name.as_str()).collect();
            let shown = file.display().to_string();
            let header = header::parse(&shown, &std::fs::read_to_string(&file).unwrap()).unwrap();
            patterns_name_partitions(&shown, &header, &names).unwrap();
        }
    }

    #[test]
    fn a_pattern_for_an_unknown_partition_is_refused() {
        let source = "#@ expect = [\"[alpha] hi\", \"[*] any\", \"hypervisor\"]\n#@ forbid = [\"[alhpa] x\"]\n";
        let header = header::parse("s.toml", source).unwrap();
        let error = patterns_name_partitions("s.toml", &header, &["alpha"]).unwrap_err();
        assert!(
            error.contains("`alhpa`") && error.contains("alpha"),
            "{error}"
        );
        assert!(patterns_name_partitions("s.toml", &header, &["alpha", "alhpa"]).is_ok());
    }
}
