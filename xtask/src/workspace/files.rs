//! Files written only when their bytes change, atomically (beside the target, then renamed), so
//! build scripts that track them do not rebuild for nothing and readers never see half a file.

use std::fs;
use std::path::{Path, PathBuf};

/// Copies `from` to `to` unless `to` already holds the same bytes; returns `to`. The copy keeps
/// the source's permissions.
pub fn copy_if_changed(from: &Path, to: &Path) -> Result<PathBuf, String> {
    let bytes = fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let permissions = fs::metadata(from)
        .map_err(|e| format!("{}: {e}", from.display()))?
        .permissions();
    write_file(to, &bytes, Some(permissions))?;
    Ok(to.to_path_buf())
}

/// Writes `bytes` to `to` unless it already holds them. The new file is written beside `to` and
/// renamed over it, so a concurrent reader never sees half a file.
pub fn write_if_changed(to: &Path, bytes: &[u8]) -> Result<(), String> {
    write_file(to, bytes, None)
}

/// `write_if_changed` for a file to hand out, such as a disk image: readable by everyone (mode
/// 0644), not only by its owner as a new temporary file is.
pub fn write_readable_if_changed(to: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    write_file(to, bytes, Some(fs::Permissions::from_mode(0o644)))
}

fn write_file(to: &Path, bytes: &[u8], permissions: Option<fs::Permissions>) -> Result<(), String> {
    if fs::read(to).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut temporary, bytes)
        .map_err(|e| format!("{}: {e}", temporary.path().display()))?;
    if let Some(permissions) = permissions {
        fs::set_permissions(temporary.path(), permissions)
            .map_err(|e| format!("{}: {e}", temporary.path().display()))?;
    }
    temporary
        .persist(to)
        .map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_bytes_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&from, b"elf").unwrap();
        copy_if_changed(&from, &to).unwrap();
        let first = fs::metadata(&to).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(fs::metadata(&to).unwrap().modified().unwrap(), first);
        fs::write(&from, b"elf2").unwrap();
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"elf2");
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions();
        assert_eq!(
            mode(&to),
            mode(&from),
            "the copy keeps the source's permissions"
        );
    }
}
