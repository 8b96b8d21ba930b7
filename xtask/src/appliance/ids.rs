//! Identifiers an image needs (disk and partition GUIDs, the FAT volume ID), derived from the
//! image's inputs instead of drawn at random, so the same inputs give the same bytes.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A digest of everything an image is built from; every identifier is derived from it.
pub type Seed = [u8; 32];

/// The seed of `parts` (each length-prefixed, so no two lists of parts share a seed).
pub fn seed(parts: &[&[u8]]) -> Seed {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A version-4-shaped GUID for `label` (e.g. `disk`, `esp`), the same for the same seed.
pub fn guid(seed: &Seed, label: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(seed)
        .chain_update(label.as_bytes())
        .finalize();
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 bytes");
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The FAT volume ID (serial number) of the EFI system partition.
pub fn fat_volume_id(seed: &Seed) -> u32 {
    let digest = Sha256::new()
        .chain_update(seed)
        .chain_update(b"fat volume id")
        .finalize();
    u32::from_le_bytes(digest[..4].try_into().expect("4 bytes"))
}

/// How GRUB names a FAT volume ID for `search --fs-uuid`: `xxxx-xxxx`, lower-case hex.
pub fn fat_uuid_text(volume_id: u32) -> String {
    format!("{:04x}-{:04x}", volume_id >> 16, volume_id & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers, computed outside Rust (Python's hashlib and uuid: SHA-256 over each part's
    /// length as 8 little-endian bytes then the part; a GUID is the first 16 bytes of SHA-256(seed
    /// || label) with the version-4 and RFC 4122 variant bits set): the same inputs must give
    /// these bytes in every build, on every machine.
    #[test]
    fn identifiers_are_the_known_answers_and_distinct() {
        let a = seed(&[b"elf", b"manifest"]);
        let hex: String = a.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "4207c93fbc73bf0bc1e41e21afc44147bec2fb908db6bc5e550f5374fa1c3684"
        );
        assert_ne!(a, seed(&[b"elfm", b"anifest"]), "parts are length-prefixed");
        let disk = guid(&a, "disk").to_string();
        assert_eq!(disk, "490914cc-0686-4e51-91ce-a3333041d6d0");
        assert_eq!(
            guid(&a, "esp").to_string(),
            "d325faee-c4d9-45b8-bc6d-dc1f98311c1d"
        );
        assert_eq!(fat_volume_id(&a), 0xa44b_8d72);
        assert_eq!(fat_uuid_text(0x1234_abcd), "1234-abcd");
        assert_eq!(fat_uuid_text(0x0000_0001), "0000-0001");
    }
}
