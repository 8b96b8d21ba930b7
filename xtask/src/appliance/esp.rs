//! The EFI system partition's FAT file system, built in memory with the `fatfs` crate: a fixed
//! volume ID and label, and every timestamp set to the build time, so the same files give the same
//! bytes. Also reads files back out of one (for `inspect`).

use super::clock::Utc;
use fatfs::{FatType, FileSystem, FormatVolumeOptions, FsOptions, TimeProvider};
use std::io::{Cursor, Read, Write};

/// The smallest ESP formatted as FAT32 (65,525 clusters of 512 bytes and the tables), as the UEFI
/// specification asks of system partitions on fixed disks; smaller ones (tests) get FAT12/16.
pub const FAT32_MIN_BYTES: u64 = 34 << 20;
/// The volume label.
pub const LABEL: &[u8; 11] = b"TESSERA    ";

/// A file to place, by absolute path with `/` separators (directories are created).
#[derive(Debug, Clone)]
pub struct EspFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A FAT file system of `bytes` bytes holding `files`, every timestamp `time`.
pub fn build(files: &[EspFile], bytes: u64, volume_id: u32, time: Utc) -> Result<Vec<u8>, String> {
    let mut disk = Cursor::new(vec![0u8; bytes as usize]);
    let mut options = FormatVolumeOptions::new()
        .volume_id(volume_id)
        .volume_label(*LABEL);
    if bytes >= FAT32_MIN_BYTES {
        options = options.fat_type(FatType::Fat32);
    }
    fatfs::format_volume(&mut disk, options).map_err(|e| format!("formatting the ESP: {e}"))?;
    disk.set_position(0);
    let clock: &'static FixedTime = Box::leak(Box::new(FixedTime(time)));
    let fs = FileSystem::new(&mut disk, FsOptions::new().time_provider(clock))
        .map_err(|e| format!("opening the new ESP: {e}"))?;
    for file in files {
        place(&fs, file).map_err(|e| format!("ESP {}: {e}", file.path))?;
    }
    fs.unmount().map_err(|e| format!("closing the ESP: {e}"))?;
    Ok(disk.into_inner())
}

fn place<T: fatfs::ReadWriteSeek>(fs: &FileSystem<T>, file: &EspFile) -> std::io::Result<()> {
    let parts: Vec<&str> = file.path.split('/').filter(|p| !p.is_empty()).collect();
    let (name, dirs) = parts.split_last().ok_or(std::io::ErrorKind::InvalidInput)?;
    let mut dir = fs.root_dir();
    for part in dirs {
        dir = match dir.open_dir(part) {
            Ok(existing) => existing,
            Err(_) => dir.create_dir(part)?,
        };
    }
    let mut out = dir.create_file(name)?;
    out.truncate()?;
    out.write_all(&file.bytes)?;
    out.flush()
}

/// The bytes of the file at `path` in the FAT file system `fat` (a copy: `fatfs` writes to the
/// volume it opens).
pub fn read_file(fat: &[u8], path: &str) -> Result<Vec<u8>, String> {
    let mut disk = Cursor::new(fat.to_vec());
    let fs = FileSystem::new(&mut disk, FsOptions::new())
        .map_err(|e| format!("the ESP is not a FAT file system: {e}"))?;
    let mut file = fs
        .root_dir()
        .open_file(path.trim_start_matches('/'))
        .map_err(|e| format!("{path}: {e}"))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("{path}: {e}"))?;
    Ok(bytes)
}

/// The clock `fatfs` stamps files with: always the build time.
#[derive(Debug)]
struct FixedTime(Utc);

impl TimeProvider for FixedTime {
    fn get_current_date(&self) -> fatfs::Date {
        // FAT dates run from 1980 to 2107.
        fatfs::Date {
            year: self.0.year.clamp(1980, 2107) as u16,
            month: self.0.month as u16,
            day: self.0.day as u16,
        }
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        fatfs::DateTime {
            date: self.get_current_date(),
            time: fatfs::Time {
                hour: self.0.hour as u16,
                min: self.0.minute as u16,
                sec: self.0.second as u16,
                millis: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<EspFile> {
        vec![
            EspFile {
                path: "/EFI/BOOT/BOOTX64.EFI".into(),
                bytes: b"MZ efi".to_vec(),
            },
            EspFile {
                path: "/tessera/hypervisor.elf".into(),
                bytes: (0..100_000u32).map(|i| i as u8).collect(),
            },
        ]
    }

    #[test]
    fn files_read_back_and_the_volume_is_reproducible() {
        let time = Utc::from_epoch(1_700_000_000);
        let fat = build(&files(), 2 << 20, 0x1234_5678, time).unwrap();
        assert_eq!(fat, build(&files(), 2 << 20, 0x1234_5678, time).unwrap());
        for file in files() {
            assert_eq!(read_file(&fat, &file.path).unwrap(), file.bytes);
        }
        assert!(read_file(&fat, "/tessera/missing").is_err());
        let later = build(
            &files(),
            2 << 20,
            0x1234_5678,
            Utc::from_epoch(1_800_000_000),
        );
        assert_ne!(fat, later.unwrap(), "timestamps come from the build time");
    }

    #[test]
    fn a_system_partition_of_34_mib_is_fat32() {
        let fat = build(&files(), FAT32_MIN_BYTES, 7, Utc::from_epoch(0)).unwrap();
        assert_eq!(&fat[82..90], b"FAT32   ");
        assert_eq!(u32::from_le_bytes(fat[67..71].try_into().unwrap()), 7);
        assert_eq!(read_file(&fat, "/EFI/BOOT/BOOTX64.EFI").unwrap(), b"MZ efi");
    }
}
