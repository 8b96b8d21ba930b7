//! What the Hermit build is made of (toolchain, kernel crate, its features) and the cache keys
//! that change whenever one of these or an application's source changes.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The nightly toolchain hermit-kernel 0.11.0 pins in its own rust-toolchain.toml.
pub const TOOLCHAIN: &str = "nightly-2025-03-15";
/// Components the build needs: std's sources (-Zbuild-std) and LLVM's tools (the kernel's build
/// script assembles its SMP boot code with them; the symbol export uses llvm-nm and llvm-objcopy).
pub const COMPONENTS: [&str; 2] = ["rust-src", "llvm-tools"];
/// The kernel as published in the Rust package registry.
pub const KERNEL_CRATE: &str = "hermit-kernel";
pub const KERNEL_VERSION: &str = "0.11.0";
/// Kernel features: SMP only. Tessera offers no PCI, ACPI, network or file system to a partition,
/// and FSGSBASE is left to CPUID (the kernel enables it when the CPU reports it).
pub const KERNEL_FEATURES: &str = "smp";
/// The kernel's compile-time log level (HERMIT_LOG_LEVEL_FILTER): warnings and errors only, so
/// the partition's console carries the application's output.
pub const KERNEL_LOG_LEVEL: &str = "warn";
/// The applications under tests/hermit/, each built to target/guests/<name>.
pub const APPS: [&str; 3] = ["hermit-exit", "hermit-hello", "hermit-smp"];
/// Raised when the build steps change in a way the inputs above do not show.
const RECIPE_VERSION: u32 = 1;

/// Key of a kernel build: toolchain, crate version, features, log level, recipe.
pub fn kernel_key() -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{TOOLCHAIN}\n{}\n{KERNEL_CRATE} {KERNEL_VERSION}\n{KERNEL_FEATURES}\n{KERNEL_LOG_LEVEL}\n{RECIPE_VERSION}\n",
        COMPONENTS.join(",")
    ));
    short(&hasher.finalize())
}

/// Key of an application build: the kernel's key and every file of the applications' workspace
/// (relative path and bytes), so an edited application or shim is rebuilt.
pub fn apps_key(kernel_key: &str, sources: &Path) -> Result<String, String> {
    let mut hasher = Sha256::new();
    hasher.update(format!("{kernel_key}\n"));
    for file in source_files(sources)? {
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let relative = file.strip_prefix(sources).unwrap_or(&file);
        hasher.update(format!("{} {}\n", relative.display(), bytes.len()));
        hasher.update(&bytes);
    }
    Ok(short(&hasher.finalize()))
}

/// Every file under `dir` except build output (`target/`), sorted.
fn source_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = std::fs::read_dir(&next).map_err(|e| format!("{}: {e}", next.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn short(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_key_is_16_hex_digits_and_stable() {
        let key = kernel_key();
        assert_eq!(key.len(), 16);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(key, kernel_key());
    }

    #[test]
    fn apps_key_follows_sources_and_kernel() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/src")).unwrap();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("app/src/main.rs"), "fn main() {}").unwrap();
        let first = apps_key("k1", dir.path()).unwrap();
        std::fs::write(dir.path().join("target/junk"), "built").unwrap();
        assert_eq!(
            first,
            apps_key("k1", dir.path()).unwrap(),
            "target/ is ignored"
        );
        assert_ne!(first, apps_key("k2", dir.path()).unwrap());
        std::fs::write(dir.path().join("app/src/main.rs"), "fn main() { }").unwrap();
        assert_ne!(first, apps_key("k1", dir.path()).unwrap());
    }
}
