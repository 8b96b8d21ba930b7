//! Where things are: the workspace root, cargo's target directory, the images directory; files
//! written only when changed (`files`); the version an image carries (`version`); building
//! bare-metal packages (`bare_metal`). A leaf: it uses
//! no other module of xtask.

pub mod bare_metal;
mod files;
pub mod version;

pub use files::{copy_if_changed, write_if_changed, write_readable_if_changed};
use std::path::{Path, PathBuf};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_path_buf()
}

/// The target directory cargo uses (CARGO_TARGET_DIR or the workspace's target/).
pub fn cargo_target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Where `cargo xtask image` and the scenarios put their images: target/images.
pub fn images_dir() -> PathBuf {
    root().join("target").join("images")
}
