//! Where each part of an appliance image lies (512-byte sectors, partitions on 1 MiB boundaries):
//! protective MBR with GRUB's boot sector, primary GPT, BIOS boot partition (GRUB's core image),
//! EFI system partition (FAT), metadata partition, backup GPT in the last MiB. Pure arithmetic.

/// Bytes of a logical block.
pub const SECTOR_BYTES: u64 = 512;
/// Partitions start and end on this boundary.
pub const ALIGN_BYTES: u64 = 1 << 20;
/// Bytes of the metadata partition (the block itself is a few KiB).
pub const METADATA_BYTES: u64 = 1 << 20;
/// Sectors at the start (MBR, GPT header, 128 entries of 128 bytes) the tables occupy.
pub const PRIMARY_TABLE_SECTORS: u64 = 34;
/// Sectors at the end (128 entries, backup header).
pub const BACKUP_TABLE_SECTORS: u64 = 33;

/// A byte range of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub bytes: u64,
}

impl Extent {
    pub fn first_lba(&self) -> u64 {
        self.offset / SECTOR_BYTES
    }

    pub fn last_lba(&self) -> u64 {
        (self.offset + self.bytes) / SECTOR_BYTES - 1
    }

    pub fn end(&self) -> u64 {
        self.offset + self.bytes
    }

    /// The range as `usize` indices into an in-memory image.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset as usize..self.end() as usize
    }
}

/// The whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub total_bytes: u64,
    pub bios_boot: Extent,
    pub esp: Extent,
    pub metadata: Extent,
}

impl Layout {
    /// A layout for a GRUB core image of `core_bytes` and an ESP of at least `esp_bytes`.
    pub fn new(core_bytes: u64, esp_bytes: u64) -> Layout {
        let bios_boot = Extent {
            offset: ALIGN_BYTES,
            bytes: align_up(core_bytes.max(1)),
        };
        let esp = Extent {
            offset: bios_boot.end(),
            bytes: align_up(esp_bytes.max(1)),
        };
        let metadata = Extent {
            offset: esp.end(),
            bytes: METADATA_BYTES,
        };
        Layout {
            total_bytes: metadata.end() + ALIGN_BYTES,
            bios_boot,
            esp,
            metadata,
        }
    }

    /// MBR and primary GPT.
    pub fn primary_table(&self) -> Extent {
        Extent {
            offset: 0,
            bytes: PRIMARY_TABLE_SECTORS * SECTOR_BYTES,
        }
    }

    /// Backup GPT entries and header.
    pub fn backup_table(&self) -> Extent {
        let bytes = BACKUP_TABLE_SECTORS * SECTOR_BYTES;
        Extent {
            offset: self.total_bytes - bytes,
            bytes,
        }
    }
}

/// `bytes` rounded up to the partition alignment.
pub fn align_up(bytes: u64) -> u64 {
    bytes.div_ceil(ALIGN_BYTES) * ALIGN_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_each_other_on_mib_boundaries() {
        let layout = Layout::new(150_000, 34 << 20);
        assert_eq!(
            layout.bios_boot,
            Extent {
                offset: 1 << 20,
                bytes: 1 << 20
            }
        );
        assert_eq!(
            layout.esp,
            Extent {
                offset: 2 << 20,
                bytes: 34 << 20
            }
        );
        assert_eq!(layout.metadata.offset, 36 << 20);
        assert_eq!(layout.total_bytes, 38 << 20);
        assert_eq!(layout.esp.first_lba(), 4096);
        assert_eq!(layout.esp.last_lba(), 4096 + 34 * 2048 - 1);
    }

    #[test]
    fn tables_do_not_touch_partitions() {
        let layout = Layout::new(3 << 20, 5);
        assert_eq!(layout.bios_boot.bytes, 3 << 20);
        assert_eq!(layout.esp.bytes, 1 << 20);
        assert!(layout.primary_table().end() <= layout.bios_boot.offset);
        assert!(layout.backup_table().offset >= layout.metadata.end());
        assert_eq!(layout.backup_table().end(), layout.total_bytes);
    }
}
