//! The partition table of an appliance image, written and read with the `gpt` crate: a protective
//! MBR carrying GRUB's boot code, and a GPT with the BIOS boot, EFI system and metadata partitions
//! (GUIDs derived from the image's inputs).

use super::ids::{guid, Seed};
use super::layout::{Extent, Layout, SECTOR_BYTES};
use gpt::disk::LogicalBlockSize;
use gpt::mbr::ProtectiveMBR;
use gpt::partition::Partition;
use gpt::partition_types::{Type, BIOS, EFI};
use gpt::GptConfig;
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use uuid::Uuid;

/// Type GUID of Tessera's metadata partition (docs/image.md).
pub const METADATA_TYPE: &str = "7E55E4A0-5E1F-4A3B-9C0D-7E55E4A0A7A0";
/// GPT names of the three partitions.
pub const BIOS_BOOT_NAME: &str = "BIOS boot";
pub const ESP_NAME: &str = "EFI system";
pub const METADATA_NAME: &str = "Tessera metadata";

/// A partition as read back from a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub type_guid: Uuid,
    pub extent: Extent,
}

/// The metadata partition's type.
pub fn metadata_type() -> Type {
    Type {
        guid: METADATA_TYPE.parse().expect("constant GUID"),
        os: gpt::partition_types::OperatingSystem::Custom("Tessera".into()),
    }
}

/// Writes the protective MBR (with `boot_code`) and both GPT copies into `image`.
pub fn write(
    image: &mut [u8],
    layout: &Layout,
    seed: &Seed,
    boot_code: [u8; 440],
) -> Result<(), String> {
    let sectors = layout.total_bytes / SECTOR_BYTES;
    let mut mbr = ProtectiveMBR::with_lb_size(u32::try_from(sectors - 1).unwrap_or(u32::MAX));
    mbr.set_bootcode(boot_code);
    let mut cursor = std::io::Cursor::new(image);
    mbr.overwrite_lba0(&mut cursor)
        .map_err(|e| format!("writing the protective MBR: {e}"))?;
    let mut disk = GptConfig::new()
        .writable(true)
        .logical_block_size(LogicalBlockSize::Lb512)
        .change_partition_count(true)
        .create_from_device(cursor, Some(guid(seed, "disk")))
        .map_err(|e| format!("creating the GPT: {e}"))?;
    let entries = [
        (BIOS_BOOT_NAME, BIOS, layout.bios_boot),
        (ESP_NAME, EFI, layout.esp),
        (METADATA_NAME, metadata_type(), layout.metadata),
    ];
    let partitions: BTreeMap<u32, Partition> = entries
        .into_iter()
        .zip(1u32..)
        .map(|((name, kind, extent), id)| {
            let partition = Partition {
                part_type_guid: kind,
                part_guid: guid(seed, name),
                first_lba: extent.first_lba(),
                last_lba: extent.last_lba(),
                flags: 0,
                name: name.to_string(),
            };
            (id, partition)
        })
        .collect();
    disk.update_partitions(partitions)
        .map_err(|e| format!("filling the GPT: {e}"))?;
    disk.write().map_err(|e| format!("writing the GPT: {e}"))?;
    Ok(())
}

/// The partitions of the image in `device`; both GPT headers must be valid.
pub fn read<D: Read + Seek + std::io::Write + std::fmt::Debug>(
    device: D,
) -> Result<Vec<Found>, String> {
    let disk = GptConfig::new()
        .writable(false)
        .logical_block_size(LogicalBlockSize::Lb512)
        .open_from_device(device)
        .map_err(|e| format!("no valid GPT: {e}"))?;
    disk.primary_header()
        .map_err(|e| format!("primary GPT header: {e}"))?;
    disk.backup_header()
        .map_err(|e| format!("backup GPT header: {e}"))?;
    Ok(disk
        .partitions()
        .values()
        .filter(|p| p.is_used())
        .map(|p| Found {
            name: p.name.clone(),
            type_guid: p.part_type_guid.guid,
            extent: Extent {
                offset: p.first_lba * SECTOR_BYTES,
                bytes: (p.last_lba + 1 - p.first_lba) * SECTOR_BYTES,
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_table_reads_back_with_its_boot_code() {
        let layout = Layout::new(100_000, 2 << 20);
        let mut image = vec![0u8; layout.total_bytes as usize];
        let seed = [7u8; 32];
        write(&mut image, &layout, &seed, [0xFA; 440]).unwrap();
        assert_eq!(&image[..440], &[0xFA; 440]);
        assert_eq!(&image[510..512], &[0x55, 0xAA]);
        assert_eq!(image[450], 0xEE, "protective partition record");
        assert_eq!(&image[512..520], b"EFI PART");
        let found = read(std::io::Cursor::new(image.clone())).unwrap();
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, [BIOS_BOOT_NAME, ESP_NAME, METADATA_NAME]);
        assert_eq!(found[1].extent, layout.esp);
        assert_eq!(found[1].type_guid, EFI.guid);
        assert_eq!(found[2].type_guid, metadata_type().guid);
        let mut again = vec![0u8; layout.total_bytes as usize];
        write(&mut again, &layout, &seed, [0xFA; 440]).unwrap();
        assert_eq!(image, again, "the same seed gives the same table");
    }

    #[test]
    fn a_damaged_header_is_refused() {
        let layout = Layout::new(1, 1);
        let mut image = vec![0u8; layout.total_bytes as usize];
        write(&mut image, &layout, &[1; 32], [0; 440]).unwrap();
        let backup = layout.total_bytes as usize - 512;
        image[backup + 40] ^= 0xFF;
        let error = read(std::io::Cursor::new(image)).unwrap_err();
        assert!(error.contains("backup GPT header"), "{error}");
    }
}
