//! Reads an appliance image's metadata and checks every digest it records against the image's
//! bytes: the regions (partition tables, BIOS boot, ESP), the files in the ESP, each partition
//! image inside the hypervisor ELF, and the build ID the hypervisor will print.

use super::assemble::find;
use super::layout::Extent;
use super::metadata::{self, sha256_hex, Metadata};
use super::{esp, table};
use std::path::Path;

/// One check and, when it failed, what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub what: String,
    pub problem: Option<String>,
}

/// The metadata and every check made against it.
#[derive(Debug, Clone)]
pub struct Report {
    pub metadata: Metadata,
    /// The metadata body as stored (TOML).
    pub body: String,
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that failed.
    pub fn mismatches(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.problem.is_some()).collect()
    }
}

/// Reads and checks the image file at `path`.
pub fn inspect_file(path: &Path) -> Result<Report, String> {
    let image = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    inspect(&image).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the metadata of `image` (an error when there is none to read) and checks it.
pub fn inspect(image: &[u8]) -> Result<Report, String> {
    let partitions = table::read(std::io::Cursor::new(image.to_vec()))?;
    let metadata_type = table::metadata_type().guid;
    let place = partitions
        .iter()
        .find(|p| p.type_guid == metadata_type)
        .ok_or_else(|| {
            format!(
                "no partition of type {} (Tessera metadata)",
                table::METADATA_TYPE
            )
        })?;
    let block = &image[place.extent.range()];
    let metadata = metadata::decode(block)?;
    let body_bytes = block
        .get(metadata::HEADER_BYTES..)
        .unwrap_or_default()
        .split(|&b| b == 0)
        .next()
        .unwrap_or_default();
    let mut checks = vec![size_check(image, &metadata)];
    checks.extend(table_checks(&partitions, &metadata));
    checks.extend(region_checks(image, &metadata));
    checks.extend(content_checks(image, &metadata, &partitions));
    Ok(Report {
        body: String::from_utf8_lossy(body_bytes).into_owned(),
        metadata,
        checks,
    })
}

fn check(what: impl Into<String>, problem: Option<String>) -> Check {
    Check {
        what: what.into(),
        problem,
    }
}

fn digest_check(what: String, bytes: &[u8], expected: &str) -> Check {
    let found = sha256_hex(bytes);
    let problem =
        (found != expected).then(|| format!("sha256 is {found}, the metadata says {expected}"));
    check(what, problem)
}

fn size_check(image: &[u8], metadata: &Metadata) -> Check {
    let found = image.len() as u64;
    let problem = (found != metadata.image_bytes)
        .then(|| format!("{found} bytes, the metadata says {}", metadata.image_bytes));
    check("image size", problem)
}

/// The BIOS boot and EFI system partitions are where the recorded regions are.
fn table_checks(partitions: &[table::Found], metadata: &Metadata) -> Vec<Check> {
    [
        ("bios-boot", table::BIOS_BOOT_NAME),
        ("esp", table::ESP_NAME),
    ]
    .into_iter()
    .map(|(region, name)| {
        let recorded = metadata.regions.iter().find(|r| r.name == region);
        let found = partitions.iter().find(|p| p.name == name);
        let problem = match (recorded, found) {
            (None, _) => Some(format!("the metadata records no `{region}` region")),
            (_, None) => Some(format!("the GPT has no `{name}` partition")),
            (Some(r), Some(p)) if (r.offset, r.bytes) != (p.extent.offset, p.extent.bytes) => {
                Some(format!(
                    "the GPT places it at {}+{}, the metadata at {}+{}",
                    p.extent.offset, p.extent.bytes, r.offset, r.bytes
                ))
            }
            _ => None,
        };
        check(format!("partition `{name}` placement"), problem)
    })
    .collect()
}

fn region_checks(image: &[u8], metadata: &Metadata) -> Vec<Check> {
    metadata
        .regions
        .iter()
        .map(|region| {
            let what = format!(
                "region {} ({} bytes at {})",
                region.name, region.bytes, region.offset
            );
            let extent = Extent {
                offset: region.offset,
                bytes: region.bytes,
            };
            match image.get(extent.range()) {
                Some(bytes) => digest_check(what, bytes, &region.sha256),
                None => check(what, Some("lies past the end of the image".into())),
            }
        })
        .collect()
}

/// The ESP's files, the partition images inside the hypervisor and its build ID.
fn content_checks(image: &[u8], metadata: &Metadata, partitions: &[table::Found]) -> Vec<Check> {
    let Some(esp_place) = partitions.iter().find(|p| p.name == table::ESP_NAME) else {
        return vec![check(
            "ESP files",
            Some("the GPT has no EFI system partition".into()),
        )];
    };
    let fat = &image[esp_place.extent.range()];
    let mut checks = Vec::new();
    for (label, file) in [("board", &metadata.board), ("manifest", &metadata.manifest)] {
        let what = format!("{label} file {}", file.esp_path);
        checks.push(match esp::read_file(fat, &file.esp_path) {
            Ok(bytes) => digest_check(what, &bytes, &file.sha256),
            Err(e) => check(what, Some(e)),
        });
    }
    let what = format!("hypervisor ELF {}", metadata.hypervisor.esp_path);
    let elf = match esp::read_file(fat, &metadata.hypervisor.esp_path) {
        Ok(bytes) => bytes,
        Err(e) => {
            checks.push(check(what, Some(e)));
            return checks;
        }
    };
    checks.push(digest_check(what, &elf, &metadata.hypervisor.sha256));
    for partition in &metadata.partitions {
        let what = format!("partition {} image ({})", partition.name, partition.image);
        let start = partition.hypervisor_offset as usize;
        checks.push(match elf.get(start..start + partition.bytes as usize) {
            Some(bytes) => digest_check(what, bytes, &partition.sha256),
            None => check(what, Some("lies past the end of the hypervisor ELF".into())),
        });
    }
    checks.push(build_id_check(&elf, metadata));
    checks
}

/// The hypervisor prints `Tessera <version> manifest sha256 <digest>`: the ELF must hold exactly
/// the line the metadata's version and manifest digest give.
fn build_id_check(elf: &[u8], metadata: &Metadata) -> Check {
    let expected = format!(
        "Tessera {} manifest sha256 {}",
        metadata.tessera_version, metadata.manifest.sha256
    );
    let problem = if metadata.hypervisor.build_id != expected {
        Some(format!(
            "the metadata's build_id `{}` is not `{expected}`",
            metadata.hypervisor.build_id
        ))
    } else if find(elf, expected.as_bytes()).is_none() {
        Some(format!("the hypervisor ELF does not contain `{expected}`"))
    } else {
        None
    };
    check(
        "hypervisor build ID (version and manifest digest it prints)",
        problem,
    )
}

#[cfg(test)]
mod tests {
    use super::super::{layout::Layout, sample};
    use super::*;

    fn failing(report: &Report) -> Vec<String> {
        report.mismatches().iter().map(|c| c.what.clone()).collect()
    }

    #[test]
    fn a_fresh_image_passes_every_check() {
        let (image, metadata) = sample::image(1);
        let report = inspect(&image).unwrap();
        assert_eq!(report.metadata, metadata);
        assert!(report.mismatches().is_empty(), "{:?}", report.mismatches());
        assert!(report.checks.len() >= 11, "{:?}", report.checks);
        assert!(report.body.starts_with("format = 1\n"), "{}", report.body);
        let again = sample::image(1).0;
        assert!(image == again, "the same inputs give the same bytes");
        assert!(image != sample::image(2).0);
    }

    #[test]
    fn a_flipped_byte_in_each_region_is_named() {
        let (image, metadata) = sample::image(1);
        let at = |name: &str| {
            metadata
                .regions
                .iter()
                .find(|r| r.name == name)
                .unwrap()
                .offset
        };
        let layout = Layout::new(3 * 512, 2 << 20);
        for (offset, expected) in [
            (200, "region partition-table"),
            (at("bios-boot") + 700, "region bios-boot"),
            (layout.esp.end() - 10, "region esp"),
        ] {
            let mut bad = image.clone();
            bad[offset as usize] ^= 0x40;
            let report = inspect(&bad).unwrap();
            let names = failing(&report);
            assert!(
                names.iter().any(|n| n.starts_with(expected)),
                "{offset}: {names:?}"
            );
        }
    }

    #[test]
    fn a_changed_file_in_the_esp_is_named_with_both_digests() {
        let (image, metadata) = sample::image(1);
        let fat_at = metadata
            .regions
            .iter()
            .find(|r| r.name == "esp")
            .unwrap()
            .offset as usize;
        let fat = &image[fat_at..];
        let marker = b"Tessera 0.1.0+abcdef0 manifest";
        let inside = find(fat, marker).unwrap();
        let mut bad = image.clone();
        bad[fat_at + inside + 8] = b'9';
        let report = inspect(&bad).unwrap();
        let names = failing(&report);
        assert!(
            names.contains(&"hypervisor ELF /tessera/hypervisor.elf".to_string()),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n.starts_with("hypervisor build ID")),
            "{names:?}"
        );
        let problem = report.mismatches()[0].problem.clone().unwrap();
        assert!(problem.contains("the metadata says"), "{problem}");
    }

    #[test]
    fn a_changed_partition_image_or_board_file_is_named() {
        let (image, _) = sample::image(1);
        let inputs = sample::inputs(1);
        for (needle, expected) in [
            (&inputs.partitions[0].bytes, "partition alpha image"),
            (&inputs.board.bytes, "board file /tessera/board.toml"),
        ] {
            let at = find(&image, needle).unwrap() + needle.len() / 2;
            let mut bad = image.clone();
            bad[at] ^= 0x20;
            let names = failing(&inspect(&bad).unwrap());
            assert!(
                names.iter().any(|n| n.starts_with(expected)),
                "{expected}: {names:?}"
            );
            assert!(
                names.iter().any(|n| n.starts_with("region esp")),
                "{names:?}"
            );
        }
    }

    #[test]
    fn a_damaged_metadata_block_is_an_error() {
        let (mut image, _) = sample::image(1);
        let layout = Layout::new(3 * 512, 2 << 20);
        image[layout.metadata.offset as usize + 60] ^= 1;
        let error = inspect(&image).unwrap_err();
        assert!(error.contains("does not match its own SHA-256"), "{error}");
    }

    #[test]
    fn a_truncated_image_is_refused() {
        let (image, _) = sample::image(1);
        let error = inspect(&image[..image.len() - 4096]).unwrap_err();
        assert!(error.contains("GPT"), "{error}");
    }
}
