//! Test fixtures: a small board, a two-partition manifest and hand-made ELF64 images, written to a
//! fresh temporary directory per test.
#![allow(dead_code)] // Each test binary uses a different subset of the fixtures.

pub mod hermit;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use tessera_manifest::diag::Errors;
use tessera_manifest::model::Model;
use tessera_manifest::Images;

pub const BOARD: &str = r#"name = "testboard"
ipiv = true

[hypervisor]
base = "2 MiB"
bytes = "14 MiB"
console = "com1"

[[cpu]]
name = "cpu0"
apic_id = 0
package = 0
core = 0
thread = 0

[[cpu]]
name = "cpu1"
apic_id = 1
package = 0
core = 1
thread = 0

[[cpu]]
name = "cpu2"
apic_id = 2
package = 0
core = 2
thread = 0

[[cpu]]
name = "cpu3"
apic_id = 3
package = 0
core = 3
thread = 0

[[ram]]
base = "1 MiB"
bytes = "255 MiB"

[[device]]
name = "com1"
ports = [{ base = 0x3F8, count = 8 }]
irqs = [4]

[[device]]
name = "com2"
ports = [{ base = 0x2F8, count = 8 }]
irqs = [3]

[[device]]
name = "hpet"
mmio = [{ base = 0xFED00000, bytes = "4 KiB" }]
"#;

pub const MANIFEST: &str = r#"board = "testboard"
ipiv = "required"

[[partition]]
name = "alpha"
cpus = ["cpu0", "cpu1"]
memory = "32 MiB"
image = "guest.elf"

[[partition.route]]
to = "beta"
mode = "exitless"

[[partition]]
name = "beta"
cpus = ["cpu2", "cpu3"]
memory = "32 MiB"
image = "guest.elf"
"#;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory holding `board.toml`, `manifest.toml` and `guest.elf`.
pub fn dir(board: &str, manifest: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tessera-manifest-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("board.toml"), board).unwrap();
    std::fs::write(dir.join("manifest.toml"), manifest).unwrap();
    std::fs::write(dir.join("guest.elf"), elf(0x10_0000, 0x2000, 0x10_0000)).unwrap();
    dir
}

/// Checks a board + manifest pair (images loaded).
pub fn check(board: &str, manifest: &str) -> Result<Model, Errors> {
    let d = dir(board, manifest);
    tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        Images::Load,
    )
}

/// The rendered errors of a pair that must be invalid; every error must say what was found and
/// what is accepted.
pub fn errors(board: &str, manifest: &str) -> String {
    match check(board, manifest) {
        Ok(_) => panic!("expected errors for manifest:\n{manifest}"),
        Err(e) => {
            let out = e.to_string();
            all_explained(&out);
            out
        }
    }
}

/// A minimal x86-64 ELF64 executable with one PT_LOAD segment at physical `paddr`.
pub fn elf(paddr: u64, memsz: u64, entry: u64) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type: EXEC
    f.extend_from_slice(&62u16.to_le_bytes()); // e_machine: x86-64
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes());
    for half in [64u16, 56, 1, 64, 0, 0] {
        f.extend_from_slice(&half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f.extend_from_slice(&5u32.to_le_bytes()); // R+X
    for word in [120u64, paddr, paddr, 8, memsz, 0x1000] {
        f.extend_from_slice(&word.to_le_bytes()); // offset, vaddr, paddr, filesz, memsz, align
    }
    f.extend_from_slice(&[0xF4, 0xEB, 0xFD, 0, 0, 0, 0, 0]); // hlt; jmp .-1
    f
}

/// Asserts that `out` holds every fragment.
pub fn has(out: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(out.contains(f), "missing `{f}` in:\n{out}");
    }
}

/// Asserts that every error in `out` says what was found and what is accepted.
pub fn all_explained(out: &str) {
    let errors = out.matches("\nerror: ").count() + usize::from(out.starts_with("error: "));
    assert_eq!(
        out.matches("\n  found: ").count(),
        errors,
        "an error without `found:` in:\n{out}"
    );
    assert_eq!(
        out.matches("\n  accepted: ").count(),
        errors,
        "an error without `accepted:` in:\n{out}"
    );
}

/// `text` with the first occurrence of `from` replaced (which must exist).
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture has no `{from}`");
    text.replacen(from, to, 1)
}

/// Generated source (or a piece of it) without whitespace and trailing commas, so a test can look
/// for an item however the formatter broke its lines.
pub fn squashed(source: &str) -> String {
    let joined: String = source.split_whitespace().collect();
    joined
        .replace(",}", "}")
        .replace(",]", "]")
        .replace(",)", ")")
}
