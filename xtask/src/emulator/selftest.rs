//! The VMX/IPIv self-test image of the emulator (tests/emulator/vmx-selftest) as two scenarios:
//! IPIv offered (every IPIv case) and not offered (VM entry with the control set is refused).

use super::scenarios::Scenario;
use super::{cache, RunSpec};
use std::path::PathBuf;
use std::process::Command;

/// Package and binary name of the self-test image.
const PACKAGE: &str = "tessera-vmx-selftest";
const BINARY: &str = "vmx-selftest";

/// Builds the image and returns its two scenarios, each requiring the mode it must have run in.
pub fn scenarios() -> Result<Vec<Scenario>, String> {
    let image = build()?;
    let scenario = |ipiv: bool| {
        let mut spec = RunSpec::new(image.clone());
        spec.cpus = 2;
        spec.ipiv = ipiv;
        spec.timeout_s = 180;
        let mode = if ipiv { "ipiv-on" } else { "ipiv-off" };
        Scenario {
            name: format!("vmx-selftest --ipiv {}", if ipiv { "on" } else { "off" }),
            spec,
            required_summary: vec![("mode".into(), mode.into())],
        }
    };
    Ok(vec![scenario(true), scenario(false)])
}

/// `cargo build` of the bare-metal image; returns the ELF's path.
fn build() -> Result<PathBuf, String> {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            PACKAGE,
            "--bin",
            BINARY,
            "--target",
            "x86_64-unknown-none",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building {PACKAGE} for x86_64-unknown-none failed ({status})"
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache::workspace_root().join("target"));
    Ok(target_dir.join("x86_64-unknown-none/debug").join(BINARY))
}
