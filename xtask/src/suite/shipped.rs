//! Shipped manifests booted: every `partitions/**/*.toml` made for the emulator board runs once as
//! it ships (its guests, no test features) and must end with `TESSERA-RESULT: pass`, so an example
//! that cannot boot is found by the test suite, not by its first reader.

use crate::emulator::Scenario;

/// One run of each shipped manifest made for the emulator board (`partitions/**/*.toml` whose
/// board is board/emulator.toml), built with the release profile or the debug one, named
/// `shipped <path under partitions/>`: each must boot and pass.
pub fn runs(filter: &[String], release: bool) -> Result<Vec<Scenario>, String> {
    let root = crate::workspace::root();
    let emulator_board = root.join("board").join("emulator.toml");
    let profile = if release { "release" } else { "debug" };
    let out_dir = crate::workspace::images_dir().join(format!("shipped-{profile}"));
    let mut runs = Vec::new();
    for shipped in tessera_manifest::shipped::manifests(&root)? {
        let partitions = root.join("partitions");
        let under = shipped
            .manifest
            .strip_prefix(&partitions)
            .unwrap_or(&shipped.manifest);
        let name = format!("shipped {}", under.display());
        if shipped.board != emulator_board || !crate::suite::selected(&name, filter) {
            continue;
        }
        eprintln!("==> scenario image {name} ({profile})");
        let built = crate::image::build_with_features(
            &shipped.board,
            &shipped.manifest,
            release,
            &[],
            &out_dir.join(under).with_extension(""),
        )?;
        runs.push(Scenario {
            name,
            spec: crate::emulator::RunSpec::new(built.iso),
            expect_pass: true,
            required_summary: Vec::new(),
            check: None,
        });
    }
    Ok(runs)
}
