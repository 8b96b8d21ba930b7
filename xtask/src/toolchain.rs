//! Installs exactly what `rust-toolchain.toml` pins (targets and components) into the toolchain
//! cargo runs with, whatever `RUSTUP_TOOLCHAIN` and `RUSTUP_AUTO_INSTALL` say.
//!
//! cargo runs xtask with `RUSTUP_TOOLCHAIN` set to the resolved toolchain, which overrides the
//! toolchain file, so `rustup toolchain install` alone would never add the pinned target. This
//! module asks rustup what the active toolchain has and adds what is missing, by name.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The part of `rust-toolchain.toml` this module acts on.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Pins {
    pub channel: String,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Deserialize)]
struct ToolchainFile {
    toolchain: Pins,
}

/// Where rustup lives and which homes it acts on; `Rustup::from_env` is the machine's own.
#[derive(Debug, Clone)]
pub struct Rustup {
    pub program: PathBuf,
    /// `RUSTUP_HOME` for every call (None: rustup's default).
    pub home: Option<PathBuf>,
}

impl Rustup {
    /// The `rustup` on PATH with the caller's `RUSTUP_HOME`.
    pub fn from_env() -> Rustup {
        Rustup {
            program: PathBuf::from("rustup"),
            home: std::env::var_os("RUSTUP_HOME").map(PathBuf::from),
        }
    }

    /// A rustup command that ignores the caller's toolchain override and auto-install setting:
    /// every call this module makes names its toolchain explicitly.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTUP_TOOLCHAIN_SOURCE")
            .env("RUSTUP_AUTO_INSTALL", "0");
        if let Some(home) = &self.home {
            command.env("RUSTUP_HOME", home);
        }
        command
    }

    /// stdout of `rustup ARGS`, or an error naming the command.
    fn output(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run `rustup {}`: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "`rustup {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `rustup ARGS` with its progress on the terminal.
    fn run(&self, args: &[&str]) -> Result<(), String> {
        eprintln!("==> rustup {}", args.join(" "));
        let status = self
            .command()
            .args(args)
            .status()
            .map_err(|e| format!("cannot run `rustup {}`: {e}", args.join(" ")))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`rustup {}` failed ({status})", args.join(" ")))
        }
    }
}

/// Reads the pins of `rust-toolchain.toml`.
pub fn read_pins(path: &Path) -> Result<Pins, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str::<ToolchainFile>(&text)
        .map(|file| file.toolchain)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The toolchain cargo is running with: `RUSTUP_TOOLCHAIN` when rustup set it, else the pinned
/// channel.
pub fn active_toolchain(pins: &Pins) -> String {
    std::env::var("RUSTUP_TOOLCHAIN")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| pins.channel.clone())
}

/// Pinned names that `installed` (rustup's `--installed` listing) lacks. rustup lists host
/// components with the host triple appended (`clippy-x86_64-unknown-linux-gnu`), so a pin matches
/// a listed name equal to it or starting with `<pin>-<triple>`.
pub fn missing<'a>(pinned: &'a [String], installed: &str) -> Vec<&'a str> {
    let listed: Vec<&str> = installed.lines().map(str::trim).collect();
    pinned
        .iter()
        .map(String::as_str)
        .filter(|pin| {
            !listed.iter().any(|name| {
                *name == *pin
                    || name
                        .strip_prefix(pin)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|triple| triple.split('-').count() >= 3)
            })
        })
        .collect()
}

/// What `ensure_with` installed, for the caller's report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Installed {
    pub targets: Vec<String>,
    pub components: Vec<String>,
}

/// Installs into `toolchain` every target and component of `pins` that it lacks.
pub fn ensure_with(rustup: &Rustup, toolchain: &str, pins: &Pins) -> Result<Installed, String> {
    let have_toolchain = rustup.output(&["toolchain", "list"])?;
    if !have_toolchain
        .lines()
        .any(|line| line.split_whitespace().next() == Some(toolchain))
    {
        rustup.run(&["toolchain", "install", toolchain, "--profile", "minimal"])?;
    }
    let mut installed = Installed::default();
    let targets = rustup.output(&["target", "list", "--installed", "--toolchain", toolchain])?;
    for target in missing(&pins.targets, &targets) {
        rustup.run(&["target", "add", "--toolchain", toolchain, target])?;
        installed.targets.push(target.to_string());
    }
    let components =
        rustup.output(&["component", "list", "--installed", "--toolchain", toolchain])?;
    for component in missing(&pins.components, &components) {
        rustup.run(&["component", "add", "--toolchain", toolchain, component])?;
        installed.components.push(component.to_string());
    }
    Ok(installed)
}

/// The command a machine without rustup needs, from the pins.
pub fn manual_command(pins: &Pins) -> String {
    let mut command = format!(
        "rustup toolchain install {} --profile minimal",
        pins.channel
    );
    for target in &pins.targets {
        command.push_str(&format!(" --target {target}"));
    }
    if !pins.components.is_empty() {
        command.push_str(&format!(" --component {}", pins.components.join(",")));
    }
    command
}

/// Installs what `rust-toolchain.toml` pins into the toolchain cargo runs with; a no-op (and
/// silent) once it is there. Without rustup, says the exact command to run.
pub fn ensure() -> Result<(), String> {
    let path = crate::workspace::root().join("rust-toolchain.toml");
    let pins = read_pins(&path)?;
    let rustup = Rustup::from_env();
    if Command::new(&rustup.program)
        .arg("--version")
        .output()
        .is_err()
    {
        return Err(format!(
            "rustup is not installed, and the build needs what {} pins; install rustup, then run: {}",
            path.display(),
            manual_command(&pins)
        ));
    }
    let toolchain = active_toolchain(&pins);
    let installed = ensure_with(&rustup, &toolchain, &pins)?;
    if installed != Installed::default() {
        eprintln!(
            "installed into {toolchain}: targets [{}], components [{}]",
            installed.targets.join(", "),
            installed.components.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> Pins {
        read_pins(&crate::workspace::root().join("rust-toolchain.toml")).unwrap()
    }

    #[test]
    fn the_project_pins_the_bare_metal_target_and_rust_src() {
        let pins = pins();
        assert_eq!(pins.channel, "stable");
        assert!(pins.targets.contains(&"x86_64-unknown-none".to_string()));
        assert!(pins.components.contains(&"rust-src".to_string()));
    }

    #[test]
    fn missing_matches_host_suffixed_component_names() {
        let pinned = ["rust-src", "rustfmt", "clippy"].map(String::from);
        let listed = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n\
                      rust-std-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n";
        assert_eq!(missing(&pinned, listed), vec!["rust-src"]);
        let listed = format!("{listed}rust-src\n");
        assert!(missing(&pinned, &listed).is_empty());
    }

    #[test]
    fn missing_is_empty_when_everything_is_listed() {
        let pinned = ["x86_64-unknown-none"].map(String::from);
        let listed = "x86_64-unknown-linux-gnu\nx86_64-unknown-none\n";
        assert!(missing(&pinned, listed).is_empty());
        let listed = "x86_64-unknown-linux-gnu\n";
        assert_eq!(missing(&pinned, listed), vec!["x86_64-unknown-none"]);
    }

    #[test]
    fn manual_command_names_every_pin() {
        assert_eq!(
            manual_command(&pins()),
            "rustup toolchain install stable --profile minimal --target x86_64-unknown-none \
             --component rust-src,rustfmt,clippy"
        );
    }

    /// A rustup home beside the machine's, holding the active toolchain (hard links where the
    /// file system allows, real copies of rustup's metadata files it rewrites).
    fn sandbox_home(toolchain: &str) -> (tempfile::TempDir, Rustup) {
        let real_home = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".rustup"));
        let source = std::fs::canonicalize(real_home.join("toolchains").join(toolchain)).unwrap();
        let target = crate::workspace::root().join("target");
        std::fs::create_dir_all(&target).unwrap();
        let dir = tempfile::tempdir_in(&target).unwrap();
        let home = dir.path().join("rustup");
        std::fs::create_dir_all(home.join("toolchains")).unwrap();
        std::fs::copy(real_home.join("settings.toml"), home.join("settings.toml")).unwrap();
        let copy = home.join("toolchains").join(toolchain);
        let linked = Command::new("cp")
            .arg("-al")
            .arg(&source)
            .arg(&copy)
            .status();
        if !linked.is_ok_and(|s| s.success()) {
            let _ = std::fs::remove_dir_all(&copy);
            let copied = Command::new("cp")
                .arg("-a")
                .arg(&source)
                .arg(&copy)
                .status();
            assert!(
                copied.unwrap().success(),
                "cannot copy {}",
                source.display()
            );
        }
        let rustlib = copy.join("lib").join("rustlib");
        for entry in std::fs::read_dir(&rustlib).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                std::fs::remove_file(&path).unwrap();
                std::fs::write(&path, bytes).unwrap();
            }
        }
        let rustup = Rustup {
            program: PathBuf::from("rustup"),
            home: Some(home),
        };
        (dir, rustup)
    }

    /// The install step against a real rustup home that lacks the pinned target and rust-src,
    /// run with the `RUSTUP_TOOLCHAIN` and `RUSTUP_AUTO_INSTALL=0` that cargo gives xtask:
    /// both end up installed (this downloads them) and a second run installs nothing.
    #[test]
    fn ensure_installs_the_pins_into_a_home_that_lacks_them() {
        let pins = pins();
        let toolchain = active_toolchain(&pins);
        let (_dir, rustup) = sandbox_home(&toolchain);
        for (kind, name) in [("target", "x86_64-unknown-none"), ("component", "rust-src")] {
            let listed = rustup
                .output(&[kind, "list", "--installed", "--toolchain", &toolchain])
                .unwrap();
            if missing(&[name.to_string()], &listed).is_empty() {
                rustup
                    .output(&[kind, "remove", "--toolchain", &toolchain, name])
                    .unwrap();
            }
        }
        let installed = ensure_with(&rustup, &toolchain, &pins).unwrap();
        assert_eq!(installed.targets, vec!["x86_64-unknown-none"]);
        assert!(installed.components.contains(&"rust-src".to_string()));
        let rustlib = rustup
            .home
            .as_ref()
            .unwrap()
            .join("toolchains")
            .join(&toolchain);
        let core_rlib = std::fs::read_dir(rustlib.join("lib/rustlib/x86_64-unknown-none/lib"))
            .unwrap()
            .any(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("libcore-")
            });
        assert!(
            core_rlib,
            "no libcore for the bare-metal target after install"
        );
        assert!(rustlib.join("lib/rustlib/src/rust/library/core").is_dir());
        assert_eq!(
            ensure_with(&rustup, &toolchain, &pins).unwrap(),
            Installed::default()
        );
    }
}
