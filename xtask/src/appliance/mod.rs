//! The appliance image `cargo xtask image` writes beside the ISO: one raw GPT disk image that
//! boots on BIOS and UEFI (GRUB, Multiboot2), with a versioned metadata block (docs/image.md).
//! Built from files only (no root, no loop device), reproducibly: the same inputs give the same
//! bytes. `cargo xtask inspect` checks one (`inspect`), `cargo xtask flash` writes one.

mod assemble;
mod boot_check;
mod clock;
mod command;
mod esp;
mod grub;
mod ids;
mod inspect;
mod layout;
mod metadata;
mod prune;
#[cfg(test)]
pub mod sample;
mod table;
pub mod uefi;

pub use assemble::find;
pub use boot_check::banner_problem;
pub use command::{inspect_main, InspectArgs};
pub use inspect::{inspect, inspect_file};
pub use metadata::sha256_hex;
/// A metadata block with every field set (for tests of code that reads one).
#[cfg(test)]
pub use metadata::tests::sample as metadata_sample;
pub use metadata::Metadata;

use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_manifest::model::Model;

/// Debian packages the image is made with: grub-mkimage, GRUB for BIOS and for UEFI, strip.
pub const PACKAGES: [&str; 4] = [
    "grub-common",
    "grub-pc-bin",
    "grub-efi-amd64-bin",
    "binutils",
];

/// What to build an image from.
pub struct Request<'a> {
    pub root: &'a Path,
    pub board: &'a Path,
    pub manifest: &'a Path,
    /// The checked manifest (board name, partition images).
    pub model: &'a Model,
    /// The hypervisor ELF built for this board and manifest.
    pub hypervisor_elf: &'a Path,
    pub version: &'a str,
    pub out_dir: &'a Path,
}

/// A written image.
#[derive(Debug, Clone)]
pub struct Built {
    pub path: PathBuf,
    pub bytes: u64,
    pub metadata: Metadata,
    /// Images of other versions of the same manifest this build removed from the directory.
    pub removed: Vec<PathBuf>,
}

/// Builds the image `<out_dir>/<manifest stem>-<version>.img` (rewritten only when its bytes change,
/// readable by everyone) and removes the images of other versions of that manifest from `out_dir`.
pub fn build(request: &Request) -> Result<Built, String> {
    let inputs = inputs(request)?;
    let work = tempfile::Builder::new()
        .prefix(".appliance-")
        .tempdir_in(request.out_dir)
        .map_err(|e| {
            format!(
                "cannot create a work directory in {}: {e}",
                request.out_dir.display()
            )
        })?;
    let grub = grub::make(&inputs.grub_script(), work.path())?;
    let (image, metadata) = assemble::assemble(&inputs, &grub)?;
    let path = request
        .out_dir
        .join(format!("{}-{}.img", inputs.manifest.name, inputs.version));
    crate::workspace::write_readable_if_changed(&path, &image)?;
    let removed = prune::remove_other_versions(request.out_dir, &inputs.manifest.name, &path)?;
    Ok(Built {
        path,
        bytes: image.len() as u64,
        metadata,
        removed,
    })
}

fn inputs(request: &Request) -> Result<assemble::Inputs, String> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let shown = |path: &Path| {
        path.strip_prefix(request.root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let stem = request
        .manifest
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: no file name", request.manifest.display()))?;
    let partitions = request
        .model
        .partitions
        .iter()
        .map(|p| {
            let bytes = match &p.image {
                Some(image) => image.bytes.clone(),
                None => read(&p.image_path)?,
            };
            let path = std::fs::canonicalize(&p.image_path).unwrap_or(p.image_path.clone());
            Ok(assemble::PartitionInput {
                name: p.name.clone(),
                shown: shown(&path),
                bytes,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(assemble::Inputs {
        version: request.version.to_string(),
        git_revision: crate::workspace::version::revision(request.root)
            .unwrap_or_else(|| "unknown".into()),
        git_dirty: request.version.ends_with("-dirty"),
        time: clock::build_time(request.root)?,
        board: assemble::Source {
            name: request.model.board.clone(),
            shown: shown(request.board),
            bytes: read(request.board)?,
        },
        manifest: assemble::Source {
            name: stem.to_string(),
            shown: shown(request.manifest),
            bytes: read(request.manifest)?,
        },
        hypervisor: stripped(request.hypervisor_elf)?,
        partitions,
        esp_min_bytes: esp::FAT32_MIN_BYTES,
    })
}

/// The hypervisor ELF without symbols and debug information (which name build directories).
fn stripped(elf: &Path) -> Result<Vec<u8>, String> {
    let out = tempfile::NamedTempFile::new().map_err(|e| format!("temporary file: {e}"))?;
    let output = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(out.path())
        .arg(elf)
        .output()
        .map_err(|e| format!("cannot run strip: {e} (Debian package binutils)"))?;
    if !output.status.success() {
        return Err(format!(
            "strip {} failed ({}): {}",
            elf.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::read(out.path()).map_err(|e| format!("{}: {e}", out.path().display()))
}
