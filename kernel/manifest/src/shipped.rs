//! The manifests a checkout ships: every `*.toml` under `partitions/` (recursively), each with the
//! board file its `board = "<name>"` names (`board/<name>.toml`). Found by walking the directory,
//! so a new manifest is checked, planned and explained by the tests without being listed anywhere.

use std::path::{Path, PathBuf};

/// One shipped manifest and its board file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipped {
    pub board: PathBuf,
    pub manifest: PathBuf,
}

/// Every manifest under `root/partitions`, sorted by path, with its board under `root/board`.
pub fn manifests(root: &Path) -> Result<Vec<Shipped>, String> {
    let mut files = Vec::new();
    collect_toml(&root.join("partitions"), &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|manifest| {
            let name = board_name(&manifest)?;
            let board = root.join("board").join(format!("{name}.toml"));
            if !board.is_file() {
                return Err(format!(
                    "{}: board `{name}`\n  found: no file {}\n  accepted: a board named in board/<name>.toml",
                    manifest.display(),
                    board.display()
                ));
            }
            Ok(Shipped { board, manifest })
        })
        .collect()
}

fn collect_toml(dir: &Path, into: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            collect_toml(&path, into)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            into.push(path);
        }
    }
    Ok(())
}

/// The `board` key of a partitions file.
fn board_name(manifest: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    table
        .get("board")
        .and_then(|b| b.as_str())
        .map(String::from)
        .ok_or_else(|| format!("{}: no `board = \"<name>\"`", manifest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_found_in_subdirectories_with_their_named_board() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("partitions/examples")).unwrap();
        std::fs::create_dir_all(dir.join("board")).unwrap();
        std::fs::write(dir.join("board/b1.toml"), "").unwrap();
        std::fs::write(dir.join("partitions/a.toml"), "board = \"b1\"\n").unwrap();
        std::fs::write(dir.join("partitions/examples/c.toml"), "board = \"b1\"").unwrap();
        std::fs::write(dir.join("partitions/examples/notes.md"), "").unwrap();
        let found = manifests(&dir).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|s| s.manifest.strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("partitions/a.toml"),
                PathBuf::from("partitions/examples/c.toml")
            ]
        );
        assert!(found.iter().all(|s| s.board == dir.join("board/b1.toml")));
        std::fs::write(dir.join("partitions/z.toml"), "board = \"nope\"").unwrap();
        let err = manifests(&dir).unwrap_err();
        assert!(
            err.contains("board `nope`") && err.contains("found: no file"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tessera-shipped-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
