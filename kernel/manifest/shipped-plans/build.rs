//! Generates the plan of every shipped manifest (`tessera_manifest::shipped::manifests`: every
//! `partitions/**/*.toml` with its board) into `$OUT_DIR/<module>.rs`, without images and for the
//! release build, with paths relative to the checkout, and `$OUT_DIR/plans.rs`, which includes
//! each in a module of its own and lists them in `ALL`.
#![forbid(unsafe_code)]

use std::fmt::Write;
use std::path::{Path, PathBuf};
use tessera_manifest::heap::Build;
use tessera_manifest::Images;

fn main() {
    let package = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = package
        .join("../../..")
        .canonicalize()
        .expect("the checkout's root");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("partitions").display()
    );
    println!("cargo:rerun-if-changed={}", root.join("board").display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let shipped = tessera_manifest::shipped::manifests(&root).unwrap_or_else(|e| fail(&e));
    let mut plans = String::new();
    let mut all = String::new();
    for s in shipped {
        let manifest = relative(&root, &s.manifest);
        let board = relative(&root, &s.board);
        let module = module_name(&manifest);
        let generated =
            tessera_manifest::generate_for(&s.board, &s.manifest, Images::Skip, Build::Release)
                .unwrap_or_else(|e| fail(&format!("{manifest}: {e}")));
        let prefix = format!("{}/", root.display());
        let source = generated.source.replace(&prefix, "");
        std::fs::write(out.join(format!("{module}.rs")), source).expect("OUT_DIR is writable");
        let _ = writeln!(
            plans,
            "/// `{manifest}` with `{board}`.\npub mod {module} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{module}.rs\"));\n}}"
        );
        let _ = writeln!(
            all,
            "    Shipped {{ manifest: {manifest:?}, module: {module:?}, plan: &{module}::PLAN, heap_bytes: {module}::HEAP_BYTES, partitions: {module}::PARTITIONS, vcpus: {module}::VCPUS, cpu_slots: {module}::CPU_SLOTS, max_ept_pages: {module}::MAX_EPT_PAGES, console_port: {module}::CONSOLE_PORT }},"
        );
    }
    let _ = writeln!(
        plans,
        "/// Every shipped manifest's plan, in path order.\npub const ALL: &[Shipped] = &[\n{all}];"
    );
    std::fs::write(out.join("plans.rs"), plans).expect("OUT_DIR is writable");
}

/// `path` relative to the checkout's root, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let rel = path.strip_prefix(root).unwrap_or(&path);
    rel.to_string_lossy().replace('\\', "/")
}

/// The module of a manifest: `partitions/examples/server.toml` -> `plan_examples_server`.
fn module_name(manifest: &str) -> String {
    let stem = manifest
        .trim_start_matches("partitions/")
        .trim_end_matches(".toml");
    let ident: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("plan_{ident}")
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
