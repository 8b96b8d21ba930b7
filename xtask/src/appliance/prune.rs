//! One disk image per manifest in an output directory: writing `<stem>-<version>.img` removes the
//! images other versions of the same manifest left there (38 MiB each, one per commit built).
//! Each can be rebuilt byte for byte from its commit; copy an image out of `target/` to keep it.

use std::path::{Path, PathBuf};

/// Whether the file `name` is a disk image of manifest `stem` at some version:
/// `<stem>-<major>.<minor>.<patch>[+<anything>].img`.
pub fn is_image_of(name: &str, stem: &str) -> bool {
    let Some(version) = name
        .strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_suffix(".img"))
    else {
        return false;
    };
    let package = version
        .split_once('+')
        .map_or(version, |(package, _)| package);
    let numbers: Vec<&str> = package.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes every image of `stem` in `dir` other than `keep`; returns what it removed.
pub fn remove_other_versions(dir: &Path, stem: &str, keep: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path == keep || !is_image_of(&name, stem) || !path.is_file() {
            continue;
        }
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versions_of_the_same_manifest_are_images_of_it() {
        for name in [
            "default-0.1.0+9b9065b.img",
            "default-0.1.0+9b9065b-dirty.img",
            "default-0.1.0.img",
            "default-12.3.45+v1-3-gabcdef0.img",
        ] {
            assert!(is_image_of(name, "default"), "{name}");
        }
        for name in [
            "default-big-0.1.0+9b9065b.img",
            "default.iso",
            "default-0.1.0+9b9065b.img.part",
            "default-0.1+9b9065b.img",
            "other-0.1.0+9b9065b.img",
            "default-0.1.x+9b9065b.img",
        ] {
            assert!(!is_image_of(name, "default"), "{name}");
        }
    }

    #[test]
    fn other_versions_go_and_everything_else_stays() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "default-0.1.0+1111111.img",
            "default-0.1.0+2222222-dirty.img",
            "default-0.1.0+3333333.img",
            "default-big-0.1.0+1111111.img",
            "default.iso",
        ];
        for name in names {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let keep = dir.path().join("default-0.1.0+3333333.img");
        let removed = remove_other_versions(dir.path(), "default", &keep).unwrap();
        let removed: Vec<_> = removed.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(
            removed,
            [
                "default-0.1.0+1111111.img",
                "default-0.1.0+2222222-dirty.img"
            ]
        );
        for left in [names[2], names[3], names[4]] {
            assert!(dir.path().join(left).is_file(), "{left}");
        }
    }
}
