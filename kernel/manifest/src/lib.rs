//! Tessera's manifest crate: everything derivable from a board and a partitions manifest.
//!
//! Without the `std` feature (the kernel's build) it holds only the plan types and the pure
//! functions the kernel shares (heap layout, IPIv model; the EPT page count and boot-area size
//! are tessera-vmx's rules, re-exported here). With `std` it also parses and validates manifests,
//! plans them, writes `manifest.rs` and renders
//! reports.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod boot_area;
pub mod channel;
pub mod ept;
pub mod heap;
pub mod heap_items;
pub mod hermit;
pub mod ipiv_model;
pub mod plan;
pub mod vectors;

#[cfg(feature = "std")]
pub mod check;
#[cfg(feature = "std")]
pub mod codegen;
#[cfg(feature = "std")]
pub mod diag;
#[cfg(feature = "std")]
pub mod heap_layout;
#[cfg(feature = "std")]
pub mod load;
#[cfg(feature = "std")]
pub mod model;
#[cfg(feature = "std")]
pub mod pack;
#[cfg(feature = "std")]
pub mod planner;
#[cfg(feature = "std")]
pub mod report;
#[cfg(feature = "std")]
pub mod schema;
#[cfg(feature = "std")]
pub mod schema_errors;
#[cfg(feature = "std")]
pub mod sections;
#[cfg(feature = "std")]
pub mod shipped;
#[cfg(feature = "std")]
pub mod size;
#[cfg(feature = "std")]
pub mod syntax;

pub use heap::{HeapLayout, MsrBitmapsHeap, PartitionHeap, VcpuHeap};
pub use plan::*;
pub use vectors::VectorSet;

#[cfg(feature = "std")]
pub use check::Images;

/// Reads, parses and validates a board file and a partitions file.
#[cfg(feature = "std")]
pub fn check_files(
    board: &std::path::Path,
    manifest: &std::path::Path,
    images: Images,
) -> Result<model::Model, diag::Errors> {
    let sources = load::Sources::read(board, manifest)?;
    check::check(&sources, images)
}

/// What `build.rs` writes: the generated source and the files it depends on.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct Generated {
    /// Contents of `$OUT_DIR/manifest.rs`.
    pub source: String,
    /// Board, partitions and (when loaded) image files, for `cargo:rerun-if-changed`.
    pub inputs: Vec<std::path::PathBuf>,
    /// The load images the source includes, to be written to `$OUT_DIR` under these file names
    /// ([`codegen::image_files`]; none when planned without images).
    pub images: Vec<(String, Vec<u8>)>,
    /// What the planner chose on the author's behalf.
    pub notes: Vec<String>,
}

/// Checks and plans a board + partitions pair and generates `manifest.rs` for it (laid out for
/// the release build).
#[cfg(feature = "std")]
pub fn generate(
    board: &std::path::Path,
    manifest: &std::path::Path,
    images: Images,
) -> Result<Generated, diag::Errors> {
    generate_for(board, manifest, images, heap::Build::Release)
}

/// [`generate`] with the heap laid out for `build` (its host stacks sized for that build).
#[cfg(feature = "std")]
pub fn generate_for(
    board: &std::path::Path,
    manifest: &std::path::Path,
    images: Images,
    build: heap::Build,
) -> Result<Generated, diag::Errors> {
    let mut model = check_files(board, manifest, images)?;
    for p in &mut model.partitions {
        if let Ok(abs) = std::fs::canonicalize(&p.image_path) {
            p.image_path = abs;
        }
    }
    let arena = bumpalo::Bump::new();
    let plan = planner::plan_for(&arena, &model, build);
    let origin = format!("{} + {}", board.display(), manifest.display());
    let mut inputs = vec![board.to_path_buf(), manifest.to_path_buf()];
    if images == Images::Load {
        inputs.extend(model.partitions.iter().map(|p| p.image_path.clone()));
    }
    Ok(Generated {
        source: codegen::source(&plan, &model, &origin),
        inputs,
        images: codegen::image_files(&model),
        notes: model.notes.clone(),
    })
}

/// `explain`'s two renderings of one plan.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct Explained {
    /// The readable report.
    pub text: String,
    /// The JSON report (pretty-printed).
    pub json: String,
}

/// Checks and plans a board + partitions pair and renders both reports (the heap laid out for
/// the release build).
#[cfg(feature = "std")]
pub fn explain(
    board: &std::path::Path,
    manifest: &std::path::Path,
    images: Images,
) -> Result<Explained, diag::Errors> {
    explain_for(board, manifest, images, heap::Build::Release)
}

/// [`explain`] with the heap laid out for `build` (its host stacks sized for that build), as
/// `build.rs` lays it out for a build of that profile.
#[cfg(feature = "std")]
pub fn explain_for(
    board: &std::path::Path,
    manifest: &std::path::Path,
    images: Images,
    build: heap::Build,
) -> Result<Explained, diag::Errors> {
    let model = check_files(board, manifest, images)?;
    let arena = bumpalo::Bump::new();
    let plan = planner::plan_for(&arena, &model, build);
    let json =
        serde_json::to_string_pretty(&report::json(&plan, &model, build)).unwrap_or_default();
    Ok(Explained {
        text: report::text(&plan, &model, build),
        json,
    })
}
