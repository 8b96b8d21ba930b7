//! Downloads and verifies the emulator's inputs: Debian's `bochs` source tarballs (checked
//! by sha256) and the BIOS images from the `bochsbios` and `vgabios` binary packages.

use super::apt;
use super::cache::{file_sha256, Layout, SOURCE_PACKAGE, SOURCE_VERSION, TARBALLS};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The two BIOS images a run needs.
#[derive(Debug, Clone)]
pub struct BiosImages {
    pub bios: PathBuf,
    pub vga_bios: PathBuf,
}

/// Makes sure both source tarballs are in the downloads directory with the expected sha256.
pub fn ensure_tarballs(layout: &Layout) -> Result<(), String> {
    let dir = layout.downloads();
    if verify_tarballs(&dir).is_ok() {
        return Ok(());
    }
    apt::ensure_deb_src(SOURCE_PACKAGE, SOURCE_VERSION)?;
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let spec = format!("{SOURCE_PACKAGE}={SOURCE_VERSION}");
    eprintln!(
        "emulator: downloading source package {spec} into {}",
        dir.display()
    );
    // The exit status is ignored on purpose: the .dsc may answer 404 while both tarballs
    // download; the sha256 check below decides.
    let _ = Command::new("apt-get")
        .args(["source", "--download-only", &spec])
        .current_dir(&dir)
        .status();
    verify_tarballs(&dir)
}

/// Checks each tarball's sha256; names the file, what was found and what is expected.
pub fn verify_tarballs(dir: &Path) -> Result<(), String> {
    for (name, expected) in TARBALLS {
        let path = dir.join(name);
        let found = file_sha256(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if found != expected {
            return Err(format!(
                "{}: sha256 is {found}, expected {expected}; delete the file and rerun",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Makes sure the BIOS images are unpacked (downloads `bochsbios` and `vgabios` with
/// `apt-get download` and unpacks them with `dpkg-deb -x`; nothing is installed).
pub fn ensure_bios(layout: &Layout) -> Result<BiosImages, String> {
    let root = layout.bios_root();
    let images = BiosImages {
        bios: root.join("usr/share/bochs/BIOS-bochs-latest"),
        vga_bios: root.join("usr/share/vgabios/vgabios.bin"),
    };
    if images.bios.is_file() && images.vga_bios.is_file() {
        return Ok(images);
    }
    let dir = layout.downloads();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    eprintln!("emulator: downloading BIOS packages bochsbios, vgabios");
    apt::run_logged(
        Command::new("apt-get")
            .args(["download", "bochsbios", "vgabios"])
            .current_dir(&dir),
        "apt-get download bochsbios vgabios",
    )?;
    for deb in debs_in(&dir)? {
        let what = format!("dpkg-deb -x {} {}", deb.display(), root.display());
        apt::run_logged(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
            &what,
        )?;
    }
    if images.bios.is_file() && images.vga_bios.is_file() {
        Ok(images)
    } else {
        Err(format!(
            "BIOS images missing under {} after unpacking",
            root.display()
        ))
    }
}

fn debs_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            (name.starts_with("bochsbios_") || name.starts_with("vgabios_"))
                && name.ends_with(".deb")
        })
        .collect())
}
