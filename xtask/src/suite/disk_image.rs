//! Booting the appliance image: the emulator scenario `disk-image` (the default manifest's image
//! from the hard disk, BIOS and GRUB, to `TESSERA-RESULT: pass`, its banner checked against the
//! image's metadata).

use super::Scenario;
use crate::appliance::{banner_problem, Built, PACKAGES};
use crate::emulator::RunSpec;
use crate::workspace::root as workspace_root;

/// The default manifest's appliance image, built into target/images/disk-boot (for the emulator
/// tier, which may run without the host tier's default image).
pub fn default_disk() -> Result<Built, String> {
    let root = workspace_root();
    let out_dir = crate::workspace::images_dir().join("disk-boot");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    crate::emulator::ensure_packages(&PACKAGES)?;
    let built = crate::image::build(
        &root.join("board/emulator.toml"),
        &root.join("partitions/default.toml"),
        false,
        &out_dir,
    )?;
    built.appliance(&out_dir)
}

/// The scenario `disk-image`: the default manifest's appliance image booted from the emulated
/// hard disk.
pub fn bochs_scenario() -> Result<Scenario, String> {
    eprintln!("==> scenario image disk-image (appliance disk image, default manifest)");
    let disk = default_disk()?;
    let metadata = disk.metadata.clone();
    let mut spec = RunSpec::new(disk.path);
    spec.timeout_s = 300;
    Ok(Scenario {
        name: "disk-image".into(),
        spec,
        expect_pass: true,
        required_summary: vec![
            ("partition".into(), "alpha".into()),
            ("partition".into(), "beta".into()),
        ],
        check: Some(Box::new(move |outcome| {
            banner_problem(&outcome.serial, &metadata).map_or(Ok(()), Err)
        })),
    })
}
