//! The image's ISO, made with the emulator module's GRUB code and rebuilt only when the hypervisor
//! ELF it boots, or the way ISOs are made, changed (both kept next to the ISO).

use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// How the ISO is made, kept in the stamp beside the ELF's digest: a change rebuilds every ISO.
const RECIPE: &str = "grub-mkrescue i386-pc only";

/// Makes `iso` boot `elf`, unless it already does (same ELF digest as last time).
pub fn ensure_iso(elf: &Path, iso: &Path) -> Result<PathBuf, String> {
    let bytes = fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let digest = format!("{:x} {RECIPE}", Sha256::digest(&bytes));
    let stamp = iso.with_extension("iso.sha256");
    if iso.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return Ok(iso.to_path_buf());
    }
    let parent = iso.parent().unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".iso-")
        .tempdir_in(parent)
        .map_err(|e| {
            format!(
                "cannot create a work directory in {}: {e}",
                parent.display()
            )
        })?;
    let made = crate::emulator::bootable_iso(elf, work.path())?;
    fs::rename(&made, iso).map_err(|e| format!("{}: {e}", iso.display()))?;
    fs::write(&stamp, digest).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(iso.to_path_buf())
}
