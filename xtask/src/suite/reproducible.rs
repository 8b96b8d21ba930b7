//! The reproducibility test of `cargo xtask test`: the default manifest's appliance image built
//! twice, each time with its own cargo target directory (guests and hypervisor compiled in each),
//! must come out byte for byte the same. On a difference it names the first differing offset and
//! the region of the image it lies in.

use crate::appliance::Metadata;
use crate::workspace::root as workspace_root;
use std::path::Path;
use std::time::Instant;

/// Builds the default image in target/reproducibility/{first,second} (with target directories
/// `target/` and target/reproducibility/cargo) and compares them; says what it compared.
pub fn check() -> Result<String, String> {
    let root = workspace_root();
    let work = root.join("target").join("reproducibility");
    let started = Instant::now();
    let first = build(
        &work.join("first"),
        &crate::workspace::cargo_target_dir(&root),
    )?;
    let second = build(&work.join("second"), &work.join("cargo"))?;
    let (a, b) = (read(&first.0)?, read(&second.0)?);
    if let Some(offset) = first_difference(&a, &b) {
        return Err(format!(
            "{} and {} differ first at byte {offset} ({}); sizes {} and {}",
            first.0.display(),
            second.0.display(),
            region_of(&first.1, offset),
            a.len(),
            b.len()
        ));
    }
    Ok(format!(
        "two builds in two target directories gave the same {} bytes (sha256 {}) in {:.0} s",
        a.len(),
        crate::appliance::sha256_hex(&a),
        started.elapsed().as_secs_f64()
    ))
}

fn build(out_dir: &Path, target_dir: &Path) -> Result<(std::path::PathBuf, Metadata), String> {
    let root = workspace_root();
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    eprintln!(
        "==> appliance image with target directory {}",
        target_dir.display()
    );
    let built = crate::image::build_in(
        &root.join("board/emulator.toml"),
        &root.join("partitions/default.toml"),
        (false, &[]),
        out_dir,
        target_dir,
    )?;
    let disk = built.appliance(out_dir)?;
    Ok((disk.path, disk.metadata))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The first offset where `a` and `b` differ (the shorter one's end if one is a prefix).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.len().min(b.len());
    (0..common)
        .find(|&i| a[i] != b[i])
        .or((a.len() != b.len()).then_some(common))
}

/// The recorded region (or metadata partition) `offset` lies in.
fn region_of(metadata: &Metadata, offset: usize) -> String {
    let offset = offset as u64;
    metadata
        .regions
        .iter()
        .find(|r| (r.offset..r.offset + r.bytes).contains(&offset))
        .map_or(
            "outside the recorded regions: metadata or padding".into(),
            |r| format!("region {}", r.name),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_located() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
        let metadata = crate::appliance::metadata_sample();
        assert_eq!(region_of(&metadata, (2 << 20) + 5), "region esp");
        assert!(region_of(&metadata, 10).contains("outside"));
    }
}
