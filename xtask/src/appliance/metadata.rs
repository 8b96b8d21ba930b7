//! The metadata block of an appliance image (format 1, documented in docs/image.md): a 48-byte
//! header (magic, format version, body length, SHA-256 of the body) followed by a UTF-8 TOML body
//! that names what the image was built from and the SHA-256 of everything it holds.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// First bytes of the block.
pub const MAGIC: &[u8; 8] = b"TSRAMETA";
/// The format this xtask writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the body.
pub const HEADER_BYTES: usize = 48;

/// Everything the metadata body says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub format: u32,
    pub tessera_version: String,
    /// Full commit id, or `unknown` outside git.
    pub git_revision: String,
    pub git_dirty: bool,
    /// Seconds since 1970-01-01 UTC.
    pub build_time: u64,
    pub build_time_utc: String,
    /// `SOURCE_DATE_EPOCH`, `commit` or `none`.
    pub build_time_source: String,
    /// Bytes of the whole image (the GPT backup header is in its last sector).
    pub image_bytes: u64,
    pub board: SourceFile,
    pub manifest: SourceFile,
    pub hypervisor: Hypervisor,
    #[serde(rename = "partition")]
    pub partitions: Vec<PartitionImage>,
    #[serde(rename = "region")]
    pub regions: Vec<Region>,
}

/// The board or the partitions file: its name, where it came from and where the image holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// The board's `name`, or the manifest's file stem.
    pub name: String,
    /// The path given to `cargo xtask image`, relative to the workspace when inside it.
    pub source: String,
    /// Path of the copy in the EFI system partition.
    pub esp_path: String,
    pub sha256: String,
}

/// The hypervisor ELF GRUB loads (debug information stripped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hypervisor {
    pub esp_path: String,
    pub bytes: u64,
    pub sha256: String,
    /// What the hypervisor prints first at boot: `Tessera <version> manifest sha256 <digest>`.
    pub build_id: String,
}

/// One partition's image: its load image (the packed `PT_LOAD` file contents of the manifest's
/// `image`, `tessera_manifest::pack`) is what the hypervisor ELF embeds, and `bytes` and
/// `sha256` are its.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionImage {
    pub name: String,
    /// The manifest's `image` field.
    pub image: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where the load image's bytes start in the hypervisor ELF file.
    pub hypervisor_offset: u64,
}

/// A byte range of the image and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub offset: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The block: header and body.
pub fn encode(metadata: &Metadata) -> Result<Vec<u8>, String> {
    let body = toml::to_string(metadata).map_err(|e| format!("metadata: {e}"))?;
    let length = u32::try_from(body.len()).map_err(|_| "metadata body too long".to_string())?;
    let mut block = Vec::with_capacity(HEADER_BYTES + body.len());
    block.extend_from_slice(MAGIC);
    block.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    block.extend_from_slice(&length.to_le_bytes());
    block.extend_from_slice(&Sha256::digest(body.as_bytes()));
    block.extend_from_slice(body.as_bytes());
    Ok(block)
}

/// Reads a block from the start of `bytes` (the metadata partition), checking its own digest.
pub fn decode(bytes: &[u8]) -> Result<Metadata, String> {
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err(format!(
            "no metadata block: the metadata partition does not start with {:?}",
            String::from_utf8_lossy(MAGIC)
        ));
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let (format, length) = (word(8), word(12) as usize);
    if format != FORMAT_VERSION {
        return Err(format!(
            "metadata format {format}: this xtask reads format {FORMAT_VERSION}"
        ));
    }
    let body = bytes
        .get(HEADER_BYTES..HEADER_BYTES + length)
        .ok_or_else(|| {
            format!(
                "metadata body of {length} bytes does not fit in the {}-byte partition",
                bytes.len()
            )
        })?;
    if Sha256::digest(body)[..] != bytes[16..48] {
        return Err("metadata body does not match its own SHA-256 (the block is corrupt)".into());
    }
    let text = std::str::from_utf8(body).map_err(|_| "metadata body is not UTF-8".to_string())?;
    let metadata: Metadata = toml::from_str(text).map_err(|e| format!("metadata body: {e}"))?;
    if metadata.format != format {
        return Err(format!(
            "metadata body says format {}, its header {format}",
            metadata.format
        ));
    }
    Ok(metadata)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn sample() -> Metadata {
        let file = |name: &str| SourceFile {
            name: name.into(),
            source: format!("{name}.toml"),
            esp_path: format!("/tessera/{name}.toml"),
            sha256: sha256_hex(name.as_bytes()),
        };
        Metadata {
            format: FORMAT_VERSION,
            tessera_version: "0.1.0+abcdef0".into(),
            git_revision: "abcdef0".repeat(5) + "01234",
            git_dirty: false,
            build_time: 1_700_000_000,
            build_time_utc: "2023-11-14T22:13:20Z".into(),
            build_time_source: "commit".into(),
            image_bytes: 40 << 20,
            board: file("emulator"),
            manifest: file("default"),
            hypervisor: Hypervisor {
                esp_path: "/tessera/hypervisor.elf".into(),
                bytes: 1000,
                sha256: sha256_hex(b"elf"),
                build_id: format!(
                    "Tessera 0.1.0+abcdef0 manifest sha256 {}",
                    sha256_hex(b"default")
                ),
            },
            partitions: vec![PartitionImage {
                name: "alpha".into(),
                image: "../target/guests/hello".into(),
                bytes: 10,
                sha256: sha256_hex(b"guest"),
                hypervisor_offset: 100,
            }],
            regions: vec![Region {
                name: "esp".into(),
                offset: 2 << 20,
                bytes: 1 << 20,
                sha256: sha256_hex(b""),
            }],
        }
    }

    #[test]
    fn a_block_reads_back_as_written() {
        let metadata = sample();
        let mut block = encode(&metadata).unwrap();
        block.resize(4096, 0);
        assert_eq!(decode(&block).unwrap(), metadata);
        let body = std::str::from_utf8(&block[HEADER_BYTES..]).unwrap();
        assert!(
            body.starts_with("format = 1\ntessera_version = \"0.1.0+abcdef0\"\n"),
            "{body}"
        );
        assert!(body.contains("[[partition]]\nname = \"alpha\""), "{body}");
    }

    #[test]
    fn a_flipped_body_byte_is_caught_by_the_header_digest() {
        let mut block = encode(&sample()).unwrap();
        let at = block.len() - 3;
        block[at] ^= 1;
        let error = decode(&block).unwrap_err();
        assert!(error.contains("does not match its own SHA-256"), "{error}");
    }

    #[test]
    fn another_format_or_no_block_is_named() {
        let mut block = encode(&sample()).unwrap();
        block[8] = 2;
        assert!(decode(&block).unwrap_err().contains("metadata format 2"));
        assert!(decode(&[0u8; 512])
            .unwrap_err()
            .contains("no metadata block"));
        let mut short = encode(&sample()).unwrap();
        short.truncate(100);
        assert!(decode(&short).unwrap_err().contains("does not fit"));
    }
}
