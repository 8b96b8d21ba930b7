//! Puts an appliance image together in memory from its inputs and GRUB's pieces: ESP files, FAT,
//! layout, core image, partition table, region digests and the metadata block. Pure apart from
//! the time it takes: the same inputs always give the same bytes.

use super::clock::{BuildTime, Utc};
use super::esp::{self, EspFile};
use super::grub::{self, GrubImages};
use super::layout::{align_up, Layout, METADATA_BYTES};
use super::metadata::{self, sha256_hex, Hypervisor, Metadata, PartitionImage, Region, SourceFile};
use super::{ids, table};

/// Paths inside the EFI system partition.
pub const EFI_LOADER_PATH: &str = "/EFI/BOOT/BOOTX64.EFI";
pub const HYPERVISOR_PATH: &str = "/tessera/hypervisor.elf";
pub const BOARD_PATH: &str = "/tessera/board.toml";
pub const MANIFEST_PATH: &str = "/tessera/manifest.toml";

/// A board or partitions file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The board's `name`, or the manifest's file stem.
    pub name: String,
    /// Where it was read from, as shown to people (workspace-relative when inside it).
    pub shown: String,
    pub bytes: Vec<u8>,
}

/// A partition's image as the manifest names it.
#[derive(Debug, Clone)]
pub struct PartitionInput {
    pub name: String,
    pub shown: String,
    pub bytes: Vec<u8>,
}

/// Everything an image is made of besides GRUB.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub version: String,
    pub git_revision: String,
    pub git_dirty: bool,
    pub time: BuildTime,
    pub board: Source,
    pub manifest: Source,
    /// The hypervisor ELF as booted (stripped).
    pub hypervisor: Vec<u8>,
    pub partitions: Vec<PartitionInput>,
    /// The ESP is at least this large (`esp::FAT32_MIN_BYTES` for real images).
    pub esp_min_bytes: u64,
}

impl Inputs {
    /// The seed every identifier of the image is derived from.
    pub fn seed(&self) -> ids::Seed {
        let time = self.time.epoch_s.to_le_bytes();
        ids::seed(&[
            self.version.as_bytes(),
            self.git_revision.as_bytes(),
            &[u8::from(self.git_dirty)],
            &time,
            &self.board.bytes,
            &self.manifest.bytes,
            &self.hypervisor,
        ])
    }

    /// The line the hypervisor prints first: version and manifest digest.
    pub fn build_id(&self) -> String {
        format!(
            "Tessera {} manifest sha256 {}",
            self.version,
            sha256_hex(&self.manifest.bytes)
        )
    }

    /// The embedded GRUB script for this image.
    pub fn grub_script(&self) -> String {
        let volume = ids::fat_uuid_text(ids::fat_volume_id(&self.seed()));
        grub::script(&volume, HYPERVISOR_PATH)
    }
}

/// The image's bytes and what its metadata says.
pub fn assemble(inputs: &Inputs, grub: &GrubImages) -> Result<(Vec<u8>, Metadata), String> {
    let build_id = inputs.build_id();
    if find(&inputs.hypervisor, build_id.as_bytes()).is_none() {
        return Err(format!(
            "the hypervisor ELF does not contain `{build_id}`: it was built from another \
             version or manifest"
        ));
    }
    let partitions = partition_entries(inputs)?;
    let seed = inputs.seed();
    let fat = esp::build(
        &esp_files(inputs, grub),
        esp_bytes(inputs, grub),
        ids::fat_volume_id(&seed),
        Utc::from_epoch(inputs.time.epoch_s),
    )?;
    let layout = Layout::new(grub.core.len() as u64, fat.len() as u64);
    let mut image = vec![0u8; layout.total_bytes as usize];
    let mut core = grub.core.clone();
    grub::place_core(&mut core, layout.bios_boot.first_lba())?;
    let core_at = layout.bios_boot.offset as usize;
    image[core_at..core_at + core.len()].copy_from_slice(&core);
    image[layout.esp.range()].copy_from_slice(&fat);
    let boot_code = grub::boot_code(&grub.boot_sector, layout.bios_boot.first_lba())?;
    table::write(&mut image, &layout, &seed, boot_code)?;
    let metadata = describe(inputs, &layout, &image, build_id, partitions);
    let block = metadata::encode(&metadata)?;
    if block.len() as u64 > METADATA_BYTES {
        return Err(format!(
            "the metadata block ({} bytes) does not fit its {METADATA_BYTES}-byte partition",
            block.len()
        ));
    }
    let at = layout.metadata.offset as usize;
    image[at..at + block.len()].copy_from_slice(&block);
    Ok((image, metadata))
}

fn esp_files(inputs: &Inputs, grub: &GrubImages) -> Vec<EspFile> {
    let file = |path: &str, bytes: &[u8]| EspFile {
        path: path.to_string(),
        bytes: bytes.to_vec(),
    };
    vec![
        file(EFI_LOADER_PATH, &grub.efi),
        file(HYPERVISOR_PATH, &inputs.hypervisor),
        file(BOARD_PATH, &inputs.board.bytes),
        file(MANIFEST_PATH, &inputs.manifest.bytes),
    ]
}

/// The files plus a quarter and 1 MiB for the FAT's own tables, at least `esp_min_bytes`.
fn esp_bytes(inputs: &Inputs, grub: &GrubImages) -> u64 {
    let files: u64 = esp_files(inputs, grub)
        .iter()
        .map(|f| f.bytes.len() as u64)
        .sum();
    align_up(files + files / 4 + (1 << 20)).max(inputs.esp_min_bytes)
}

/// Each partition image and where the hypervisor ELF holds it.
fn partition_entries(inputs: &Inputs) -> Result<Vec<PartitionImage>, String> {
    inputs
        .partitions
        .iter()
        .map(|p| {
            let offset = find(&inputs.hypervisor, &p.bytes).ok_or_else(|| {
                format!(
                    "partition {}: its image {} is not embedded in the hypervisor ELF",
                    p.name, p.shown
                )
            })?;
            Ok(PartitionImage {
                name: p.name.clone(),
                image: p.shown.clone(),
                bytes: p.bytes.len() as u64,
                sha256: sha256_hex(&p.bytes),
                hypervisor_offset: offset as u64,
            })
        })
        .collect()
}

fn describe(
    inputs: &Inputs,
    layout: &Layout,
    image: &[u8],
    build_id: String,
    partitions: Vec<PartitionImage>,
) -> Metadata {
    let source = |s: &Source, esp_path: &str| SourceFile {
        name: s.name.clone(),
        source: s.shown.clone(),
        esp_path: esp_path.to_string(),
        sha256: sha256_hex(&s.bytes),
    };
    let extents = [
        ("partition-table", layout.primary_table()),
        ("bios-boot", layout.bios_boot),
        ("esp", layout.esp),
        ("backup-partition-table", layout.backup_table()),
    ];
    Metadata {
        format: metadata::FORMAT_VERSION,
        tessera_version: inputs.version.clone(),
        git_revision: inputs.git_revision.clone(),
        git_dirty: inputs.git_dirty,
        build_time: inputs.time.epoch_s,
        build_time_utc: Utc::from_epoch(inputs.time.epoch_s).rfc3339(),
        build_time_source: inputs.time.source.to_string(),
        image_bytes: layout.total_bytes,
        board: source(&inputs.board, BOARD_PATH),
        manifest: source(&inputs.manifest, MANIFEST_PATH),
        hypervisor: Hypervisor {
            esp_path: HYPERVISOR_PATH.to_string(),
            bytes: inputs.hypervisor.len() as u64,
            sha256: sha256_hex(&inputs.hypervisor),
            build_id,
        },
        partitions,
        regions: extents
            .into_iter()
            .map(|(name, extent)| Region {
                name: name.to_string(),
                offset: extent.offset,
                bytes: extent.bytes,
                sha256: sha256_hex(&image[extent.range()]),
            })
            .collect(),
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
