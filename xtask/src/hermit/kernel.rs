//! The Hermit kernel library: the registry's hermit-kernel source (fetched by cargo), built for
//! x86_64-unknown-none with -Zbuild-std, its non-system-call symbols renamed (see `symbols`).

use super::layout::Layout;
use super::nightly;
use super::pins::{KERNEL_CRATE, KERNEL_FEATURES, KERNEL_LOG_LEVEL, KERNEL_VERSION};
use super::progress::Progress;
use super::symbols;
use std::fs;
use std::path::{Path, PathBuf};

/// The directory holding `libhermit.a` for `key`, building it first when missing.
pub fn ensure(layout: &Layout, key: &str, progress: &mut Progress) -> Result<PathBuf, String> {
    let dir = layout.kernel(key);
    if dir.join("libhermit.a").is_file() {
        return Ok(dir);
    }
    progress.step(&format!(
        "fetch {KERNEL_CRATE} {KERNEL_VERSION} from the package registry"
    ));
    let source = fetch(layout, progress)?;
    progress.step(&format!(
        "build the kernel (features {KERNEL_FEATURES}, log level {KERNEL_LOG_LEVEL})"
    ));
    let built = build(layout, &source, progress)?;
    progress.step("keep only the system calls global (llvm-nm, llvm-objcopy)");
    export(&built, &dir, progress)?;
    Ok(dir)
}

/// Copies the crate's registry source to a build directory of its own; returns that directory.
fn fetch(layout: &Layout, progress: &Progress) -> Result<PathBuf, String> {
    let fetcher = layout.root.join("fetch");
    fs::create_dir_all(&fetcher).map_err(|e| format!("{}: {e}", fetcher.display()))?;
    let manifest = format!(
        "# Written by `cargo xtask hermit` to have cargo fetch the kernel's source.\n\
         [package]\nname = \"tessera-hermit-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\
         [lib]\npath = \"lib.rs\"\n[dependencies]\n{KERNEL_CRATE} = \"={KERNEL_VERSION}\"\n[workspace]\n"
    );
    write(&fetcher.join("Cargo.toml"), &manifest)?;
    write(&fetcher.join("lib.rs"), "")?;
    let json = progress.output(
        nightly::command("cargo")
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(fetcher.join("Cargo.toml")),
        "cargo metadata",
    )?;
    let registry_source = package_dir(&json, KERNEL_CRATE, KERNEL_VERSION)?;
    let source = layout.kernel_source();
    if source.exists() {
        fs::remove_dir_all(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    }
    copy_tree(&registry_source, &source)?;
    // The copy lives inside the Tessera workspace's directory tree: make it its own workspace.
    let cargo_toml = source.join("Cargo.toml");
    let text =
        fs::read_to_string(&cargo_toml).map_err(|e| format!("{}: {e}", cargo_toml.display()))?;
    write(&cargo_toml, &format!("{text}\n[workspace]\n"))?;
    Ok(source)
}

/// The directory of package `name` `version` in `cargo metadata` JSON.
fn package_dir(json: &str, name: &str, version: &str) -> Result<PathBuf, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = value["packages"].as_array().cloned().unwrap_or_default();
    packages
        .iter()
        .find(|p| p["name"] == name && p["version"] == version)
        .and_then(|p| p["manifest_path"].as_str())
        .and_then(|m| Path::new(m).parent().map(Path::to_path_buf))
        .ok_or_else(|| format!("cargo metadata lists no {name} {version}"))
}

/// `cargo build` of the kernel with its own lock file; returns the built archive.
fn build(layout: &Layout, source: &Path, progress: &Progress) -> Result<PathBuf, String> {
    let target_dir = layout.root.join("kernel-target");
    let mut cargo = nightly::command("cargo");
    cargo
        .current_dir(source)
        .args([
            "build",
            "--locked",
            "--release",
            "--target",
            "x86_64-unknown-none",
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=compiler-builtins-mem",
            "--no-default-features",
            "--features",
            KERNEL_FEATURES,
            "--target-dir",
        ])
        .arg(&target_dir)
        .env("HERMIT_LOG_LEVEL_FILTER", KERNEL_LOG_LEVEL)
        // Overrides the Tessera workspace's static relocation model: the kernel is position
        // independent; Hermit's own build turns off mutable-noalias for it.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Zmutable-noalias=no");
    progress.run(&mut cargo, "cargo build (kernel)")?;
    Ok(target_dir.join("x86_64-unknown-none/release/libhermit.a"))
}

/// Writes `dir/libhermit.a`: `built` with every global symbol but the system calls and entry
/// symbols renamed. Written under another name first, so a half-done archive is never cached.
fn export(built: &Path, dir: &Path, progress: &Progress) -> Result<(), String> {
    let tools = nightly::llvm_tools(progress)?;
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let partial = dir.join("libhermit.a.partial");
    fs::copy(built, &partial).map_err(|e| format!("{}: {e}", built.display()))?;
    let nm = tools.join("llvm-nm");
    let defined = progress.output(
        std::process::Command::new(&nm)
            .args(["--defined-only", "--extern-only", "-A"])
            .arg(&partial),
        "llvm-nm --defined-only",
    )?;
    let all = progress.output(
        std::process::Command::new(&nm)
            .arg("--export-symbols")
            .arg(&partial),
        "llvm-nm --export-symbols",
    )?;
    let calls = symbols::system_calls(&defined);
    if calls.is_empty() {
        return Err(format!("{}: no sys_* symbols found", built.display()));
    }
    let renames = dir.join("redefine-syms.txt");
    write(&renames, &symbols::renames(&all, &calls))?;
    progress.run(
        std::process::Command::new(tools.join("llvm-objcopy"))
            .arg(format!("--redefine-syms={}", renames.display()))
            .arg(&partial),
        "llvm-objcopy --redefine-syms",
    )?;
    eprintln!("hermit: {} system calls exported", calls.len());
    fs::rename(&partial, dir.join("libhermit.a")).map_err(|e| format!("{}: {e}", dir.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Copies directory `from` to `to` (files and directories only).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            fs::copy(&path, &target).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_directory_comes_from_its_manifest_path() {
        let json = r#"{"packages":[
            {"name":"hermit-entry","version":"0.10.11","manifest_path":"/r/hermit-entry-0.10.11/Cargo.toml"},
            {"name":"hermit-kernel","version":"0.11.0","manifest_path":"/r/hermit-kernel-0.11.0/Cargo.toml"}]}"#;
        assert_eq!(
            package_dir(json, "hermit-kernel", "0.11.0").unwrap(),
            PathBuf::from("/r/hermit-kernel-0.11.0")
        );
        let missing = package_dir(json, "hermit-kernel", "0.12.0").unwrap_err();
        assert!(missing.contains("no hermit-kernel 0.12.0"), "{missing}");
    }
}
