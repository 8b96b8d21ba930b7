//! Where every KiB of the loaded hypervisor goes: its loadable sections split into code, the
//! embedded guest load images (found by their bytes), the fixed heap (split by what the plan puts in
//! it), each static of 1 KiB or more by name, the smaller statics together and the padding between
//! sections; the lines add up to the loaded size.

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
use std::collections::BTreeMap;
use tessera_manifest::heap::Build;
use tessera_manifest::model::Model;
use tessera_manifest::report::heap_kinds;

/// Statics at least this large get a line of their own.
const NAMED_STATIC_BYTES: u64 = 1024;

/// One line of the table: what, bytes, and the lines it is made of (for the heap).
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub what: String,
    pub bytes: u64,
    pub parts: Vec<(String, u64)>,
}

/// The table of `elf` (a hypervisor built for `model`), largest first; the lines add up to the
/// ELF's loaded bytes.
pub fn table(elf: &[u8], model: &Model, build: Build) -> Result<Vec<Line>, String> {
    let file = object::File::parse(elf).map_err(|e| e.to_string())?;
    let loaded = super::elf_size::loaded_bytes(elf)?.0;
    let mut lines: Vec<Line> = Vec::new();
    let mut push = |what: String, bytes: u64, parts: Vec<(String, u64)>| {
        lines.push(Line { what, bytes, parts });
    };
    let mut rodata: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut code = 0;
    for section in file.sections() {
        if section.address() == 0 {
            continue;
        }
        match section.kind() {
            SectionKind::Text => code += section.size(),
            // Constants share the writable `.data` output section with initialised statics.
            SectionKind::ReadOnlyData | SectionKind::ReadOnlyString | SectionKind::Data => {
                let data = section.data().map_err(|e| e.to_string())?.to_vec();
                rodata.push((section.address(), data))
            }
            _ => {}
        }
    }
    push("code (.boot, .text)".into(), code, Vec::new());
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut image_ranges: Vec<(u64, u64)> = Vec::new();
    for part in &model.partitions {
        let Some(image) = &part.image else { continue };
        if seen.contains(&image.bytes.as_slice()) {
            continue;
        }
        seen.push(&image.bytes);
        let found = rodata
            .iter()
            .find_map(|(addr, data)| position(data, &image.bytes).map(|o| addr + o as u64));
        if let Some(at) = found {
            image_ranges.push((at, at + image.bytes.len() as u64));
            let name = part
                .image_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            push(
                format!(
                    "guest image {name} (partition {}, and any other using it)",
                    part.name
                ),
                image.bytes.len() as u64,
                Vec::new(),
            );
        }
    }
    let mut statics: BTreeMap<String, u64> = BTreeMap::new();
    let mut small = 0;
    for symbol in file.symbols() {
        let Some(index) = symbol.section_index() else {
            continue;
        };
        let Ok(section) = file.section_by_index(index) else {
            continue;
        };
        let inside_image = image_ranges
            .iter()
            .any(|&(start, end)| (start..end).contains(&symbol.address()));
        if section.kind() == SectionKind::Text || symbol.size() == 0 || inside_image {
            continue;
        }
        let name = readable(symbol.name().unwrap_or("?"));
        if symbol.size() >= NAMED_STATIC_BYTES {
            *statics.entry(name).or_default() += symbol.size();
        } else {
            small += symbol.size();
        }
    }
    let mut named: Vec<(String, u64)> = statics.into_iter().collect();
    named.sort_by_key(|n| std::cmp::Reverse(n.1));
    for (name, bytes) in named {
        if name.ends_with("heap::REGION") {
            push(
                format!("fixed heap ({name})"),
                bytes,
                heap_parts(model, bytes, build),
            );
        } else {
            push(format!("static {name}"), bytes, Vec::new());
        }
    }
    push(
        "smaller statics and constants (under 1 KiB each)".into(),
        small,
        Vec::new(),
    );
    let accounted: u64 = lines.iter().map(|l| l.bytes).sum();
    lines.push(Line {
        what: "other read-only data and padding between sections".into(),
        bytes: loaded.saturating_sub(accounted),
        parts: Vec::new(),
    });
    lines.sort_by_key(|l| std::cmp::Reverse(l.bytes));
    Ok(lines)
}

/// The heap's bytes by kind of structure (from the plan's layout, as the kernel indexes it), the
/// padding before page-aligned PID-pointer tables, and the rest of the static (its claim words and
/// the 16-byte alignment of its type; `linker.ld` page-aligns the region itself).
fn heap_parts(model: &Model, region_bytes: u64, build: Build) -> Vec<(String, u64)> {
    let arena = bumpalo::Bump::new();
    let plan = tessera_manifest::planner::plan_for(&arena, model, build);
    let items: Vec<_> = plan.heap_items().collect();
    let mut parts: Vec<(String, u64)> = heap_kinds(&items)
        .into_iter()
        .map(|(what, count, bytes)| (format!("{count} x {what}"), bytes as u64))
        .collect();
    let padding = tessera_manifest::heap_layout::padding_bytes(&plan) as u64;
    parts.push((
        "padding before page-aligned PID-pointer tables".into(),
        padding,
    ));
    let planned = plan.heap.region_bytes as u64;
    parts.push((
        "the static's claim words and type alignment".into(),
        region_bytes.saturating_sub(planned),
    ));
    parts
}

/// Where `needle` first occurs in `haystack`.
fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A Rust symbol's path without its hash (`_ZN7tessera4heap6REGION17h..E` -> `tessera::heap::REGION`).
pub(super) fn readable(symbol: &str) -> String {
    let Some(mut rest) = symbol.strip_prefix("_ZN") else {
        return symbol.to_string();
    };
    let mut parts = Vec::new();
    while let Some(len_end) = rest.find(|c: char| !c.is_ascii_digit()) {
        let Ok(len) = rest[..len_end].parse::<usize>() else {
            break;
        };
        let Some(part) = rest.get(len_end..len_end + len) else {
            break;
        };
        parts.push(part);
        rest = &rest[len_end + len..];
    }
    if parts
        .last()
        .is_some_and(|p| p.starts_with('h') && p.len() == 17)
    {
        parts.pop();
    }
    parts.join("::")
}

/// The table as text, one line per entry (KiB and bytes), the heap's parts indented.
pub fn render(lines: &[Line]) -> String {
    let total: u64 = lines.iter().map(|l| l.bytes).sum();
    let mut out = format!(
        "where the {} KiB ({total} bytes) loaded go:\n",
        total.div_ceil(1024)
    );
    for line in lines {
        out += &kib_row(line.bytes, &line.what, "");
        for (what, bytes) in &line.parts {
            out += &kib_row(*bytes, what, "    ");
        }
    }
    out
}

/// One row of a size table: KiB, bytes, then `what` after `indent`.
pub(super) fn kib_row(bytes: u64, what: &str, indent: &str) -> String {
    format!(
        "  {:>6.1} KiB {bytes:>8}  {indent}{what}\n",
        bytes as f64 / 1024.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_lose_their_hash() {
        assert_eq!(
            readable("_ZN7tessera4heap6REGION17h0123456789abcdefE"),
            "tessera::heap::REGION"
        );
        assert_eq!(readable("__TESSERA_CPU_STORAGE"), "__TESSERA_CPU_STORAGE");
    }

    #[test]
    fn an_image_is_found_by_its_bytes() {
        assert_eq!(position(b"xxELFyy", b"ELF"), Some(2));
        assert_eq!(position(b"xxELyy", b"ELF"), None);
        assert_eq!(position(b"abc", b""), None);
    }
}
