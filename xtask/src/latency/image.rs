//! The latency image of a manifest: the latency guest with the probe plan written into its
//! `.latency_plan` section, a copy of the manifest whose every partition runs that guest (and
//! whose `ipiv = "required"` becomes `"preferred"`, so the same image also boots without IPIv to
//! measure the fallback path), and the image built from both under target/latency/<stem>/.

use object::{Object, ObjectSection};
use std::path::{Path, PathBuf};
use tessera_latency_record::plan::{Plan, PLAN_BYTES};

/// Section of the latency guest that holds the plan.
const PLAN_SECTION: &str = ".latency_plan";

/// Builds the latency image for `board` + `manifest` with `plan`; returns the image and the
/// derived manifest.
pub fn build(
    board: &Path,
    manifest: &Path,
    plan: &Plan,
) -> Result<(crate::image::Built, PathBuf), String> {
    let root = crate::workspace::root();
    let stem = manifest
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("manifest");
    let dir = root.join("target").join("latency").join(stem);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::image::build_guests()?;
    let guest = root.join("target").join("guests").join("latency");
    let patched = dir.join("latency-guest");
    write_plan(&guest, &patched, plan)?;
    let derived = dir.join(format!("{stem}-latency.toml"));
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let rewritten =
        derive_manifest(&text, &patched).map_err(|e| format!("{}: {e}", manifest.display()))?;
    crate::workspace::write_if_changed(&derived, rewritten.as_bytes())?;
    // Release: the exits a probe costs are timed as the product would run them.
    let built = crate::image::build(board, &derived, true, &dir)?;
    Ok((built, derived))
}

/// Copies the guest ELF `from` to `to` with `plan` in its plan section.
pub fn write_plan(from: &Path, to: &Path, plan: &Plan) -> Result<(), String> {
    let mut bytes = std::fs::read(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let (offset, size) = plan_section(&bytes).map_err(|e| format!("{}: {e}", from.display()))?;
    if size < PLAN_BYTES as u64 {
        return Err(format!(
            "{}: section {PLAN_SECTION} holds {size} bytes, the plan needs {PLAN_BYTES}",
            from.display()
        ));
    }
    bytes[offset as usize..offset as usize + PLAN_BYTES].copy_from_slice(&plan.encode());
    crate::workspace::write_if_changed(to, &bytes)
}

/// File offset and size of the plan section.
pub fn plan_section(elf: &[u8]) -> Result<(u64, u64), String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF file: {e}"))?;
    let section = file
        .section_by_name(PLAN_SECTION)
        .ok_or_else(|| format!("no {PLAN_SECTION} section (not the latency guest?)"))?;
    section
        .file_range()
        .ok_or_else(|| format!("{PLAN_SECTION} has no bytes in the file"))
}

/// The manifest text with every partition's image replaced and `required` IPIv made `preferred`.
pub fn derive_manifest(text: &str, guest: &Path) -> Result<String, String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    if table.get("ipiv").and_then(|v| v.as_str()) == Some("required") {
        table.insert("ipiv".into(), toml::Value::String("preferred".into()));
    }
    let partitions = table
        .get_mut("partition")
        .and_then(|p| p.as_array_mut())
        .ok_or("no [[partition]]")?;
    for partition in partitions {
        let entry = partition
            .as_table_mut()
            .ok_or("[[partition]] is not a table")?;
        entry.insert(
            "image".into(),
            toml::Value::String(guest.display().to_string()),
        );
    }
    let header = "# Written by `cargo xtask latency`: the manifest it measures, every partition running the latency guest.\n";
    Ok(format!(
        "{header}{}",
        toml::to_string(&table).map_err(|e| e.to_string())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_manifest_runs_the_latency_guest_everywhere() {
        let text = "board = \"emulator\"\nipiv = \"required\"\n[[partition]]\nname = \"a\"\nimage = \"../x\"\n[[partition]]\nname = \"b\"\nimage = \"../y\"\n";
        let derived = derive_manifest(text, Path::new("/t/latency-guest")).unwrap();
        let table: toml::Table = toml::from_str(&derived).unwrap();
        assert_eq!(table["ipiv"].as_str(), Some("preferred"));
        for p in table["partition"].as_array().unwrap() {
            assert_eq!(p["image"].as_str(), Some("/t/latency-guest"));
        }
    }
}
