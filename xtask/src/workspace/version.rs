//! The version an image carries: the hypervisor package's version plus the git commit it was
//! built from (`-dirty` when the working tree has changes), e.g. `0.1.0+890b1dd-dirty`.

use std::path::Path;
use std::process::Command;

/// `<package version>+<short commit>[-dirty]`, or the package version alone outside git.
pub fn describe(root: &Path) -> String {
    let package = package_version(root).unwrap_or_else(|| "0.0.0".into());
    match git_describe(root) {
        Some(commit) => format!("{package}+{commit}"),
        None => package,
    }
}

/// The full commit id of HEAD, or `None` outside git.
pub fn revision(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| text.trim().to_string())
}

fn package_version(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    Some(table.get("package")?.get("version")?.as_str()?.to_string())
}

fn git_describe(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=7"])
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outside git the version is the package's alone, as its Cargo.toml states it.
    #[test]
    fn outside_git_the_version_is_the_package_s() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = "[package]\nname = \"p\"\nversion = \"7.8.9\"\n";
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        assert_eq!(describe(dir.path()), "7.8.9");
    }

    /// In the checkout the version is the package's plus HEAD's abbreviated commit, as
    /// `git rev-parse HEAD` names it (`-dirty` when the tree has changes).
    #[test]
    fn version_names_the_package_and_the_commit() {
        let root = crate::workspace::root();
        let version = describe(&root);
        let (package, commit) = version.split_once('+').unwrap_or((&version, ""));
        assert_eq!(package.split('.').count(), 3, "{version}");
        if let Some(full) = revision(&root) {
            assert_eq!(full.len(), 40, "{full}");
            let short = commit.strip_suffix("-dirty").unwrap_or(commit);
            assert!(
                short.len() >= 7 && full.starts_with(short),
                "{version} vs {full}"
            );
        }
    }
}
