//! The one way xtask builds the workspace's bare-metal packages (hypervisor, test guests, platform
//! self-tests): `cargo build --target x86_64-unknown-none` with a profile, packages, environment
//! and target directory, returning the directory the binaries land in.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bare-metal target every Tessera image is built for.
pub const TARGET: &str = "x86_64-unknown-none";

/// What to build.
pub struct BareMetal<'a> {
    /// Packages (`-p`), at least one.
    pub packages: &'a [&'a str],
    /// Cargo profile: `dev`, `release` or a custom one (`guest`).
    pub profile: &'a str,
    /// Where cargo builds (CARGO_TARGET_DIR).
    pub target_dir: &'a Path,
    /// Variables set for the build (build scripts read them).
    pub env: Vec<(&'a str, OsString)>,
    /// Variables removed from the build's environment.
    pub env_remove: &'a [&'a str],
    /// Cargo features to enable (`--features`), such as a test-only hook of the hypervisor.
    pub features: &'a [String],
    /// What the error says was being built.
    pub what: &'a str,
}

impl BareMetal<'_> {
    /// Runs cargo; returns the directory of the built binaries (`<target dir>/<target>/<profile>`).
    pub fn build(&self) -> Result<PathBuf, String> {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args([
            "build",
            "--quiet",
            "--target",
            TARGET,
            "--profile",
            self.profile,
        ]);
        for package in self.packages {
            cargo.args(["-p", package]);
        }
        if !self.features.is_empty() {
            cargo.args(["--features", &self.features.join(",")]);
        }
        cargo.env("CARGO_TARGET_DIR", self.target_dir);
        for (key, value) in &self.env {
            cargo.env(key, value);
        }
        for key in self.env_remove {
            cargo.env_remove(key);
        }
        let status = cargo
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building {} for {TARGET} failed ({status})",
                self.what
            ));
        }
        Ok(output_dir(self.target_dir, self.profile))
    }
}

/// Where cargo puts a profile's bare-metal binaries (`dev` builds go to `debug`).
pub fn output_dir(target_dir: &Path, profile: &str) -> PathBuf {
    let dir = match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    target_dir.join(TARGET).join(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_map_to_cargo_output_directories() {
        let t = Path::new("/t");
        assert_eq!(
            output_dir(t, "dev"),
            Path::new("/t/x86_64-unknown-none/debug")
        );
        assert_eq!(
            output_dir(t, "release"),
            Path::new("/t/x86_64-unknown-none/release")
        );
        assert_eq!(
            output_dir(t, "guest"),
            Path::new("/t/x86_64-unknown-none/guest")
        );
    }
}
