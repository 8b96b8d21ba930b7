//! Hermit applications as partition images: recognised by their note, placed and planned at
//! build time (relocations checked, boot information and device tree written), and refused with a
//! located error when they cannot boot.

mod common;

use common::{edit, hermit, squashed, BOARD, MANIFEST};
use std::path::PathBuf;
use tessera_manifest::{check_files, Images};

/// A directory with the fixture board and manifest, partition alpha's image replaced by `elf`.
fn with_alpha_image(elf: &[u8], manifest: &str) -> PathBuf {
    let manifest = edit(manifest, "image = \"guest.elf\"", "image = \"hermit.elf\"");
    let d = common::dir(BOARD, &manifest);
    std::fs::write(d.join("hermit.elf"), elf).unwrap();
    d
}

fn check(d: &std::path::Path) -> Result<tessera_manifest::model::Model, String> {
    check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        Images::Load,
    )
    .map_err(|e| e.to_string())
}

fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[test]
fn a_hermit_application_is_placed_as_uhyve_places_it() {
    let d = with_alpha_image(&hermit::elf(4, 8), MANIFEST);
    let model = check(&d).unwrap();
    let alpha = &model.partitions[0];
    let image = alpha.image.as_ref().unwrap();
    let boot = image.hermit.as_ref().expect("recognised as Hermit");
    assert_eq!(boot.load_bias, 0x4_0000, "image at guest base + 0x40000");
    assert_eq!(image.entry, 0x4_0000 + hermit::ENTRY);
    assert_eq!(image.segments[0].guest_phys, 0x4_0000);
    assert_eq!(boot.stack_guest, 0x3_8000, "32 KiB stack below the image");
    assert_eq!((boot.boot_info_guest, boot.fdt_guest), (0x9000, 0x5000));
    assert_eq!(boot.relocations.count, 1);
    let info = &boot.boot_info;
    // 32 MiB memory, boot area of 3 page tables + GDT + 2 vCPUs at the top.
    let usable_end = (32 << 20) - 6 * 4096;
    assert_eq!((word(info, 0), word(info, 8)), (0, usable_end));
    assert_eq!(word(info, 24), 0x5000, "device tree");
    assert_eq!((word(info, 32), word(info, 40)), (0x4_0000, 0x4_1000));
    assert_eq!(word(info, 48), 0x4_0000 + hermit::TARGET, "TLS relocated");
    assert_eq!(word(info, 96), 2, "vCPUs");
    let tree = fdt::Fdt::new(&boot.fdt).unwrap();
    let memory = tree.memory().regions().next().unwrap();
    assert_eq!(
        memory.size,
        Some(usable_end as usize),
        "Hermit never gets the boot area"
    );
    assert_eq!(tree.cpus().count(), 2);
}

#[test]
fn the_generated_plan_carries_the_boot() {
    let d = with_alpha_image(&hermit::elf(4, 8), MANIFEST);
    let generated = tessera_manifest::generate(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        Images::Load,
    )
    .unwrap();
    let source = squashed(&generated.source);
    assert!(
        source.contains(&squashed(
            "hermit: Some(::tessera_manifest::HermitBoot { load_bias: 0x40000"
        )),
        "{source}"
    );
    assert!(source.contains(&squashed(
        "relocations: ::tessera_manifest::Relocations { offset: 0x1c0, count: 1 }"
    )));
    assert!(source.contains(&squashed(
        "segments: &[::tessera_manifest::Segment { guest_phys: 0x40000, offset: 0x0, file_bytes: 0x210, memory_bytes: 0x1000 }]"
    )));
    let alpha = &generated.images[0];
    assert_eq!(alpha.0, "image-0.bin");
    assert_eq!(
        alpha.1,
        hermit::elf(4, 8),
        "its one segment is the whole file"
    );
    assert!(
        source.contains(&squashed("hermit: None")),
        "beta's Tessera image"
    );
}

#[test]
fn a_wrong_entry_version_is_a_build_error_at_the_image() {
    let d = with_alpha_image(&hermit::elf(3, 8), MANIFEST);
    let err = check(&d).unwrap_err();
    for fragment in [
        "manifest.toml:8:9: image of `alpha` is a Hermit application with entry version 3, which this Tessera cannot boot",
        "hermit.elf",
        "accepted: a Hermit application with entry version 4 (hermit-entry 0.10; known to work: hermit-kernel 0.11.0)",
    ] {
        assert!(err.contains(fragment), "missing `{fragment}` in:\n{err}");
    }
}

#[test]
fn relocations_other_than_relative_are_refused() {
    let d = with_alpha_image(&hermit::elf(4, 1), MANIFEST);
    let err = check(&d).unwrap_err();
    assert!(
        err.contains("image of `alpha` is not a loadable Hermit application: relocation 0 has type 1; Tessera applies R_X86_64_RELATIVE (8) only"),
        "{err}"
    );
}

#[test]
fn every_vcpu_must_start_at_boot() {
    let manifest = edit(
        MANIFEST,
        "cpus = [\"cpu0\", \"cpu1\"]",
        "cpus = [\"cpu0\", \"cpu1\"]\nboot_cpus = [\"cpu0\"]",
    );
    let d = with_alpha_image(&hermit::elf(4, 8), &manifest);
    let err = check(&d).unwrap_err();
    assert!(
        err.contains("manifest.toml:7:13: partition `alpha` runs a Hermit application, which expects every vCPU to start at boot"),
        "{err}"
    );
}

#[test]
fn memory_too_small_for_the_low_area_is_refused() {
    let manifest = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"2 MiB\"\nguest_base = \"0\"",
    );
    let d = with_alpha_image(&hermit::elf(4, 8), &manifest);
    // 2 MiB holds the image at 0x40000; an image larger than the memory does not.
    assert!(check(&d).is_ok());
    let mut big = hermit::elf(4, 8);
    big[64 + 40..64 + 48].copy_from_slice(&(2u64 << 20).to_le_bytes()); // p_memsz
    std::fs::write(d.join("hermit.elf"), big).unwrap();
    let err = check(&d).unwrap_err();
    assert!(err.contains("image of `alpha` does not fit its memory: the Hermit application would end at 0x240000"), "{err}");
}
