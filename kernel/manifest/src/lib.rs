//! Tessera's manifest crate: everything derivable from a board and a partitions manifest.
//!
//! Without the `std` feature (the kernel's build) it holds only the plan types and the pure
//! functions the kernel replays (heap sequence, EPT page count, IPIv model). With `std` it also
//! parses and validates manifests, plans them, writes `manifest.rs` and renders reports.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod ept;
pub mod heap;
pub mod ipiv_model;
pub mod plan;
pub mod vectors;

#[cfg(feature = "std")]
pub mod check;
#[cfg(feature = "std")]
pub mod diag;
#[cfg(feature = "std")]
pub mod heap_size;
#[cfg(feature = "std")]
pub mod load;
#[cfg(feature = "std")]
pub mod model;
#[cfg(feature = "std")]
pub mod planner;
#[cfg(feature = "std")]
pub mod schema;
#[cfg(feature = "std")]
pub mod size;

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
