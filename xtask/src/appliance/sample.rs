//! Small appliance images for host tests: real layout, table, FAT and metadata, with stand-ins
//! for GRUB's pieces and the hypervisor (an ELF-sized blob holding the build ID and the images).

use super::assemble::{assemble, Inputs, PartitionInput, Source};
use super::clock::BuildTime;
use super::grub::GrubImages;
use super::metadata::{sha256_hex, Metadata};

/// Inputs of a sample image; `salt` changes the hypervisor's bytes.
pub fn inputs(salt: u8) -> Inputs {
    let manifest = b"board = \"emulator\"\n[[partition]]\nname = \"alpha\"\n".to_vec();
    let version = "0.1.0+abcdef0".to_string();
    let build_id = format!(
        "Tessera {version} manifest sha256 {}",
        sha256_hex(&manifest)
    );
    let guest: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let mut hypervisor = vec![salt; 4096];
    hypervisor.extend_from_slice(build_id.as_bytes());
    hypervisor.extend_from_slice(&guest);
    hypervisor.extend_from_slice(&[0x90; 1000]);
    Inputs {
        version,
        git_revision: "abcdef0".repeat(5) + "12345",
        git_dirty: false,
        time: BuildTime {
            epoch_s: 1_700_000_000,
            source: "SOURCE_DATE_EPOCH",
        },
        board: Source {
            name: "emulator".into(),
            shown: "board/emulator.toml".into(),
            bytes: b"name = \"emulator\"\n".to_vec(),
        },
        manifest: Source {
            name: "default".into(),
            shown: "partitions/default.toml".into(),
            bytes: manifest,
        },
        hypervisor,
        partitions: vec![PartitionInput {
            name: "alpha".into(),
            shown: "target/guests/hello".into(),
            bytes: guest,
        }],
        esp_min_bytes: 2 << 20,
    }
}

/// Stand-ins for boot.img, core.img (three sectors) and BOOTX64.EFI.
pub fn grub() -> GrubImages {
    let mut boot_sector = vec![0xEB; 512];
    boot_sector[510..].copy_from_slice(&[0x55, 0xAA]);
    let mut core = vec![0xC0; 3 * 512];
    core[508..510].copy_from_slice(&2u16.to_le_bytes());
    GrubImages {
        boot_sector,
        core,
        efi: b"MZ stand-in for GRUB's EFI image".to_vec(),
    }
}

/// A sample image (about 5 MiB) and its metadata.
pub fn image(salt: u8) -> (Vec<u8>, Metadata) {
    assemble(&inputs(salt), &grub()).expect("sample image")
}
