//! The Hermit applications of tests/hermit/ (their own workspace, `hermit` patched to the shim that
//! links the kernel built here), built for x86_64-unknown-hermit with -Zbuild-std.

use super::layout::{sources, Layout};
use super::nightly;
use super::pins::APPS;
use super::progress::Progress;
use std::fs;
use std::path::{Path, PathBuf};

/// The directory holding every application of `key`, building them first when one is missing.
pub fn ensure(
    layout: &Layout,
    key: &str,
    kernel: &Path,
    progress: &mut Progress,
) -> Result<PathBuf, String> {
    let dir = layout.apps(key);
    if APPS.iter().all(|app| dir.join(app).is_file()) {
        return Ok(dir);
    }
    progress.step(&format!("build the applications ({})", APPS.join(", ")));
    let target_dir = layout.root.join("apps-target");
    let mut cargo = nightly::command("cargo");
    cargo
        .current_dir(sources())
        .args([
            "build",
            "--locked",
            "--release",
            "--target",
            "x86_64-unknown-hermit",
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=compiler-builtins-mem",
            "--target-dir",
        ])
        .arg(&target_dir)
        .env("TESSERA_HERMIT_KERNEL_DIR", kernel)
        // No flags from the Tessera workspace's configuration.
        .env("CARGO_ENCODED_RUSTFLAGS", "");
    progress.run(&mut cargo, "cargo build (applications)")?;
    let built = target_dir.join("x86_64-unknown-hermit/release");
    let partial = layout.root.join(format!("apps-{key}.partial"));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    for app in APPS {
        fs::copy(built.join(app), partial.join(app))
            .map_err(|e| format!("{}: {e}", built.join(app).display()))?;
    }
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&partial, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
