//! Where the emulator's sources, BIOS images and builds live, and the key a build is cached under.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Debian source package and version the emulator is built from.
pub const SOURCE_PACKAGE: &str = "bochs";
pub const SOURCE_VERSION: &str = "3.0+dfsg-1";

/// The tarballs of that version and their sha256 (the .dsc may be missing on mirrors).
pub const TARBALLS: [(&str, &str); 2] = [
    (
        "bochs_3.0+dfsg.orig.tar.xz",
        "78f6c73d4a6472d5130a87ab9dc306d02c7c71ed8e25b3a8ef642e2a7acd282b",
    ),
    (
        "bochs_3.0+dfsg-1.debian.tar.xz",
        "c68fe1162aa485249467ec93707ccbf5d039b00d12815899fc2c819ec16d00df",
    ),
];

/// Directory the orig tarball unpacks to.
pub const SOURCE_DIR_NAME: &str = "bochs-3.0";

/// `./configure` flags: no GUI, x86-64 with VMX level 2 (EPT, APIC virtualization, posted
/// interrupts), SMP, AVX + EVEX (AVX without EVEX does not compile), user interrupts, an
/// i440FX PCI board with an ATAPI CD-ROM; no debugger, no plugins.
pub const CONFIGURE_FLAGS: [&str; 12] = [
    "--with-nogui",
    "--enable-x86-64",
    "--enable-vmx=2",
    "--enable-smp",
    "--enable-cpu-level=6",
    "--enable-avx",
    "--enable-evex",
    "--enable-uintr",
    "--enable-all-optimizations",
    "--enable-pci",
    "--enable-cdrom",
    "--enable-a20-pin",
];

/// Cache key of a build: sha256 over the source tarballs' hashes, the configure flags and
/// the patches (concatenated in order), shortened to 16 hex digits. Changing any of them gives a new build directory.
pub fn cache_key(patch: &[u8], flags: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (name, sha) in TARBALLS {
        hasher.update(format!("{name} {sha}\n"));
    }
    for flag in flags {
        hasher.update(format!("{flag}\n"));
    }
    hasher.update(patch);
    hex(&hasher.finalize())[..16].to_string()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, as lower-case hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(hex(&Sha256::digest(bytes)))
}

/// Paths under `<workspace>/target/emulator`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    /// The layout of this checkout.
    pub fn of_workspace() -> Layout {
        Layout {
            root: crate::workspace::root().join("target").join("emulator"),
        }
    }

    /// Source tarballs and BIOS packages as downloaded.
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// BIOS packages unpacked (`usr/share/bochs`, `usr/share/vgabios`).
    pub fn bios_root(&self) -> PathBuf {
        self.root.join("bios")
    }

    /// Everything one build owns.
    pub fn build_dir(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The cached emulator binary of a build.
    pub fn bochs(&self, key: &str) -> PathBuf {
        self.build_dir(key).join("bin").join("bochs")
    }
}

/// The project's emulator patches, in the order they are applied: IPI virtualization (with the
/// Bochs fixes on its path), then APIC-timer virtualization.
pub const PATCHES: [&str; 2] = ["ipiv.patch", "timer-virt.patch"];

/// Paths of [`PATCHES`].
pub fn patch_paths() -> Vec<PathBuf> {
    let dir = crate::workspace::root().join("tests").join("emulator");
    PATCHES.iter().map(|name| dir.join(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_16_hex_digits_and_stable() {
        let key = cache_key(b"patch", &CONFIGURE_FLAGS);
        assert_eq!(key.len(), 16);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(key, cache_key(b"patch", &CONFIGURE_FLAGS));
    }

    #[test]
    fn key_changes_with_patch_and_flags() {
        let base = cache_key(b"patch", &CONFIGURE_FLAGS);
        assert_ne!(base, cache_key(b"patch2", &CONFIGURE_FLAGS));
        assert_ne!(base, cache_key(b"patch", &CONFIGURE_FLAGS[1..]));
    }

    #[test]
    fn every_patch_exists_and_starts_with_its_licence_note() {
        for path in patch_paths() {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains("GNU Lesser General Public License"),
                "{}",
                path.display()
            );
            assert!(text.contains("\ndiff --git a/"), "{}", path.display());
        }
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
