//! Commands run with the pinned nightly (through rustup's proxies), shielded from what the outer
//! `cargo xtask` run exported (its toolchain, target directory and flags), and the one-time install
//! of that nightly with its components.

use super::pins::{COMPONENTS, TOOLCHAIN};
use super::progress::Progress;
use std::process::Command;

/// Environment the outer cargo sets that must not reach the Hermit build.
const CLEARED: [&str; 10] = [
    "RUSTUP_TOOLCHAIN_SOURCE",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTDOC",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_MAKEFLAGS",
    "CARGO",
];

/// `program` (a rustup proxy such as `cargo`) running the pinned nightly.
pub fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .env("RUSTUP_TOOLCHAIN", TOOLCHAIN)
        .env("RUSTUP_AUTO_INSTALL", "0");
    for name in CLEARED {
        command.env_remove(name);
    }
    command
}

/// A rustup command that names its toolchain itself.
fn rustup() -> Command {
    let mut command = Command::new("rustup");
    command
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTUP_TOOLCHAIN_SOURCE");
    command
}

/// Installs the pinned nightly with its components unless rustup already lists them all.
pub fn ensure(progress: &Progress) -> Result<(), String> {
    let listing = rustup()
        .args(["component", "list", "--installed", "--toolchain", TOOLCHAIN])
        .output();
    let installed = match listing {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(_) => String::new(),
        Err(e) => {
            return Err(format!(
                "cannot run rustup ({e}); the Hermit build installs {TOOLCHAIN} with rustup: install rustup first"
            ))
        }
    };
    let pinned: Vec<String> = COMPONENTS.iter().map(|c| c.to_string()).collect();
    if crate::toolchain::missing(&pinned, &installed).is_empty() {
        return Ok(());
    }
    eprintln!(
        "hermit: installing {TOOLCHAIN} with {}",
        COMPONENTS.join(", ")
    );
    let mut install = rustup();
    install.args(["toolchain", "install", TOOLCHAIN, "--profile", "minimal"]);
    for component in COMPONENTS {
        install.args(["--component", component]);
    }
    progress.run(&mut install, "rustup toolchain install")
}

/// The directory of LLVM's tools in the pinned nightly (from `rustc --print sysroot`).
pub fn llvm_tools(progress: &Progress) -> Result<std::path::PathBuf, String> {
    let sysroot = progress.output(
        command("rustc").args(["--print", "sysroot"]),
        "rustc --print sysroot",
    )?;
    let host = "x86_64-unknown-linux-gnu";
    let dir = std::path::Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin");
    if dir.join("llvm-objcopy").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "{}: no llvm-objcopy (component llvm-tools missing?)",
            dir.display()
        ))
    }
}
