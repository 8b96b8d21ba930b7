//! What the emulator boots from: an ISO as is, a GPT disk image (the appliance image) as a hard
//! disk, or a Multiboot2 ELF turned into a bootable GRUB ISO (`grub-mkrescue`, timeout 0). The ISO
//! is for BIOS only (the emulator's firmware): GRUB's UEFI files are left out even when
//! `grub-efi-amd64-bin` is installed, so the ISO's content does not depend on which GRUB packages
//! the machine has; the appliance disk image is what boots on UEFI.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The GRUB menu: boot the image at once; GRUB's own messages (such as "no multiboot header
/// found") go to COM1 so they show up in the run's output, and COM1 is left at 8N1.
pub fn grub_cfg() -> &'static str {
    "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n\
     terminal_output serial\n\
     set timeout=0\nset default=0\n\
     menuentry \"tessera\" {\n    multiboot2 /boot/image.elf\n    boot\n}\n"
}

/// GRUB's modules and images for BIOS (Debian's `grub-pc-bin`): the only platform the ISO holds.
pub const BIOS_MODULES: &str = "/usr/lib/grub/i386-pc";

/// What kind of file an image is, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Elf,
    Iso,
    Disk,
}

/// Where the emulator boots from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Medium {
    Cdrom(PathBuf),
    /// A raw disk image (the run's own copy: Bochs writes a lock file beside it and may write to it).
    Disk(PathBuf),
}

/// Classifies `bytes` (the start of a file): ELF magic, a GPT header at byte 512 (`EFI PART`),
/// or an ISO 9660 volume descriptor at byte 32769 (`CD001`); `None` otherwise.
pub fn classify(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(b"\x7fELF") {
        Some(ImageKind::Elf)
    } else if bytes.get(512..520) == Some(b"EFI PART") {
        Some(ImageKind::Disk)
    } else if bytes.get(32769..32774) == Some(b"CD001") {
        Some(ImageKind::Iso)
    } else {
        None
    }
}

/// Returns what to boot `image` from: an ISO as is, a copy in `dir` of a disk image, or a new ISO
/// in `dir` that GRUB boots with `multiboot2`.
pub fn boot_medium(image: &Path, dir: &Path) -> Result<Medium, String> {
    if classify_file(image)? == ImageKind::Disk {
        let copy = dir.join("disk.img");
        fs::copy(image, &copy).map_err(|e| format!("cannot copy {}: {e}", image.display()))?;
        return Ok(Medium::Disk(copy));
    }
    bootable_iso(image, dir).map(Medium::Cdrom)
}

fn classify_file(image: &Path) -> Result<ImageKind, String> {
    let mut head = vec![0u8; 32774];
    let read = fs::File::open(image)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read image {}: {e}", image.display()))?;
    head.truncate(read);
    classify(&head).ok_or_else(|| {
        format!(
            "image {}: neither an ELF file (Multiboot2 kernel), a GPT disk image nor an ISO 9660 image",
            image.display()
        )
    })
}

/// Returns a bootable ISO for `image`: the image itself if it is an ISO, else a new ISO in
/// `dir` that GRUB boots with `multiboot2`.
pub fn bootable_iso(image: &Path, dir: &Path) -> Result<PathBuf, String> {
    match classify_file(image)? {
        ImageKind::Iso => Ok(image.to_path_buf()),
        ImageKind::Elf => make_iso(image, dir),
        ImageKind::Disk => Err(format!(
            "image {}: a disk image, not something GRUB's ISO can boot",
            image.display()
        )),
    }
}

fn make_iso(elf: &Path, dir: &Path) -> Result<PathBuf, String> {
    let tree = dir.join("iso");
    let grub = tree.join("boot").join("grub");
    fs::create_dir_all(&grub).map_err(|e| format!("cannot create {}: {e}", grub.display()))?;
    fs::copy(elf, tree.join("boot").join("image.elf"))
        .map_err(|e| format!("cannot copy {}: {e}", elf.display()))?;
    fs::write(grub.join("grub.cfg"), grub_cfg()).map_err(|e| e.to_string())?;
    let iso = dir.join("image.iso");
    let output = Command::new("grub-mkrescue")
        .arg(format!("--directory={BIOS_MODULES}"))
        .arg("-o")
        .arg(&iso)
        .arg(&tree)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!("cannot run grub-mkrescue: {e} (Debian packages grub-pc-bin, xorriso)")
        })?;
    if output.status.success() {
        Ok(iso)
    } else {
        Err(format!(
            "grub-mkrescue failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_and_iso_are_recognised() {
        assert_eq!(classify(b"\x7fELF\x02\x01"), Some(ImageKind::Elf));
        let mut iso = vec![0u8; 32774];
        iso[32769..32774].copy_from_slice(b"CD001");
        assert_eq!(classify(&iso), Some(ImageKind::Iso));
        let mut disk = vec![0u8; 1024];
        disk[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(classify(&disk), Some(ImageKind::Disk));
        assert_eq!(classify(b"MZ\x90\x00"), None);
    }

    #[test]
    fn grub_boots_at_once_with_multiboot2() {
        let cfg = grub_cfg();
        assert!(cfg.contains("set timeout=0"));
        assert!(cfg.contains("multiboot2 /boot/image.elf"));
        assert!(cfg.contains("boot"));
        assert!(cfg.contains("terminal_output serial"));
    }
}
