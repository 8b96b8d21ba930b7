//! Build script of the hypervisor: links bare-metal builds with `linker.ld`, and turns the board
//! and partitions files into `$OUT_DIR/manifest.rs` (or fails with every manifest error).
//!
//! `TESSERA_BOARD` and `TESSERA_MANIFEST` select the files (defaults: `board/emulator.toml`,
//! `partitions/default.toml`, relative to this package). Bare-metal builds load every partition
//! image and embed its load image (its segments' file contents); host builds (tests) plan without
//! images, so they work before guests exist (`TESSERA_IMAGES=skip` does the same for a bare-metal
//! build).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use tessera_manifest::Images;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=linker.ld");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    }
    image_version();
    let manifest = selected("TESSERA_MANIFEST", "partitions/default.toml");
    manifest_digest(&manifest);
    write_manifest(&manifest, images(&target_os));
}

/// The version the boot banner prints: `cargo xtask image` passes `<package>+<commit>[-dirty]` in
/// `TESSERA_VERSION`; a plain cargo build prints the package version.
fn image_version() {
    println!("cargo:rerun-if-env-changed=TESSERA_VERSION");
    let package = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let version = std::env::var("TESSERA_VERSION").unwrap_or(package);
    println!("cargo:rustc-env=TESSERA_IMAGE_VERSION={version}");
}

/// The SHA-256 of the partitions file the banner prints (`TESSERA_MANIFEST_SHA256`); the image
/// metadata of `cargo xtask image` records the same digest of the same file. An unreadable file
/// is reported by `write_manifest`.
fn manifest_digest(manifest: &std::path::Path) {
    use sha2::{Digest, Sha256};
    let digest = std::fs::read(manifest)
        .map(|bytes| format!("{:x}", Sha256::digest(bytes)))
        .unwrap_or_else(|_| "unreadable".to_string());
    println!("cargo:rustc-env=TESSERA_MANIFEST_SHA256={digest}");
}

/// Bare-metal builds embed images; `TESSERA_IMAGES=skip` plans without them (a kernel that boots
/// no guest, for bring-up work before any guest is built).
fn images(target_os: &str) -> Images {
    println!("cargo:rerun-if-env-changed=TESSERA_IMAGES");
    let skip = std::env::var("TESSERA_IMAGES").is_ok_and(|v| v == "skip");
    if target_os == "none" && !skip {
        Images::Load
    } else {
        Images::Skip
    }
}

/// Generates `$OUT_DIR/manifest.rs` (host stacks sized for this build's profile) and the load
/// images it includes (`image-<partition>.bin`: the packed `PT_LOAD` contents), or prints the
/// manifest's errors and fails the build.
fn write_manifest(manifest: &std::path::Path, images: Images) {
    let board = selected("TESSERA_BOARD", "board/emulator.toml");
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let build = tessera_manifest::heap::Build::from_cargo_profile(&profile);
    match tessera_manifest::generate_for(&board, manifest, images, build) {
        Ok(generated) => {
            for input in &generated.inputs {
                println!("cargo:rerun-if-changed={}", input.display());
            }
            let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
            for (name, bytes) in &generated.images {
                std::fs::write(out.join(name), bytes).expect("OUT_DIR is writable");
            }
            std::fs::write(out.join("manifest.rs"), generated.source).expect("OUT_DIR is writable");
            write_boot_map(&board, manifest, &out);
        }
        Err(errors) => {
            // Cargo reruns the script when the files change, so the author can fix and rebuild.
            println!("cargo:rerun-if-changed={}", board.display());
            println!("cargo:rerun-if-changed={}", manifest.display());
            eprintln!("{errors}");
            std::process::exit(1);
        }
    }
}

/// Generates `$OUT_DIR/boot_map.rs`: `BOOT_MAP_GIB`, the GiBs from address 0 that hold what the
/// hypervisor touches at a build-time known address (its own range, each partition's memory, each
/// channel's ring and acknowledgement pages), 1 to 4. On a CPU without 1 GiB pages only these are
/// mapped, each through a page directory in the image (tessera-arch `paging`); with them all of
/// the first 512 GiB is, and GiBs 1-3 cost no bytes.
fn write_boot_map(board: &std::path::Path, manifest: &std::path::Path, out: &std::path::Path) {
    const GIB: u64 = 1 << 30;
    let model = tessera_manifest::check_files(board, manifest, Images::Skip)
        .expect("the files were just planned without errors");
    let hypervisor = model.hypervisor.base + model.hypervisor.bytes;
    let partitions = model
        .partitions
        .iter()
        .map(|p| p.memory.host_base + p.memory.bytes);
    let channels = model
        .channels
        .iter()
        .map(|c| c.host_base + c.ring_bytes + c.readers.len() as u64 * 4096);
    let end = partitions.chain(channels).fold(hypervisor, u64::max);
    let gib = end.div_ceil(GIB).clamp(1, 4);
    let source = format!(
        "/// GiBs from address 0 the boot page tables map through page directories of the image (build.rs).\npub const BOOT_MAP_GIB: usize = {gib};\n"
    );
    std::fs::write(out.join("boot_map.rs"), source).expect("OUT_DIR is writable");
}

/// The file named by environment variable `var`, or `default` (both relative to this package).
fn selected(var: &str, default: &str) -> PathBuf {
    println!("cargo:rerun-if-env-changed={var}");
    PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()))
}
