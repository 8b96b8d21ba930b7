//! `cargo xtask hermit`: builds (once per input, cached) the Hermit applications of tests/hermit/ and
//! places each at target/guests/<name>, where manifests refer to them. Steps: the pinned nightly
//! (rustup), the registry's hermit-kernel source (cargo), the kernel library, its symbol export,
//! then the applications. `cargo xtask image` runs this when a manifest names one of them.

mod apps;
mod kernel;
mod layout;
mod nightly;
mod pins;
mod progress;
mod symbols;

use layout::Layout;
use progress::Progress;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cargo xtask hermit`: build (or find cached) and say where and how long.
pub fn main() -> ExitCode {
    match ensure() {
        Ok(built) => {
            for app in &built {
                println!("{}", app.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds what is missing and copies every application to target/guests/; returns their paths.
pub fn ensure() -> Result<Vec<PathBuf>, String> {
    let layout = Layout::of_workspace();
    let _lock = lock(&layout)?;
    let kernel_key = pins::kernel_key();
    let kernel_cached = layout.kernel(&kernel_key).join("libhermit.a").is_file();
    let steps = if kernel_cached { 2 } else { 5 };
    let mut progress = Progress::new(steps, layout.log());
    let apps_key = pins::apps_key(&kernel_key, &layout::sources())?;
    let cached = layout.apps(&apps_key);
    let dir = if pins::APPS.iter().all(|app| cached.join(app).is_file()) {
        eprintln!("hermit: applications cached in {}", cached.display());
        cached
    } else {
        progress.step(&format!("toolchain {}", pins::TOOLCHAIN));
        nightly::ensure(&progress)?;
        let kernel = kernel::ensure(&layout, &kernel_key, &mut progress)?;
        let dir = apps::ensure(&layout, &apps_key, &kernel, &mut progress)?;
        eprintln!("hermit: built in {:.0} s", progress.seconds());
        dir
    };
    let guests = crate::workspace::root().join("target").join("guests");
    fs::create_dir_all(&guests).map_err(|e| format!("{}: {e}", guests.display()))?;
    pins::APPS
        .iter()
        .map(|app| crate::workspace::copy_if_changed(&dir.join(app), &guests.join(app)))
        .collect()
}

/// Whether the partitions file `manifest` names one of the Hermit applications as an image.
pub fn wanted_by(manifest: &Path) -> Result<bool, String> {
    let text = fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    // A file that does not parse is left to the manifest checks, which report it properly.
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        return Ok(false);
    };
    let partitions = table.get("partition").and_then(|p| p.as_array());
    Ok(partitions.into_iter().flatten().any(|part| {
        let image = part.get("image").and_then(|i| i.as_str()).unwrap_or("");
        let name = Path::new(image).file_name().and_then(|n| n.to_str());
        name.is_some_and(|n| pins::APPS.contains(&n))
    }))
}

fn lock(layout: &Layout) -> Result<File, String> {
    fs::create_dir_all(&layout.root).map_err(|e| format!("{}: {e}", layout.root.display()))?;
    let path = layout.root.join("build.lock");
    let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_naming_a_hermit_application_wants_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        let part = |image: &str| format!("[[partition]]\nname = \"p\"\nimage = \"{image}\"\n");
        fs::write(&file, part("../../target/guests/hermit-hello")).unwrap();
        assert!(wanted_by(&file).unwrap());
        fs::write(&file, part("../../target/guests/hello")).unwrap();
        assert!(!wanted_by(&file).unwrap());
        fs::write(&file, "not toml [").unwrap();
        assert!(!wanted_by(&file).unwrap());
    }
}
