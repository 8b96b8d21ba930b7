//! Planning the repository's manifests on the emulator board, for the adapters' host tests.

use std::path::{Path, PathBuf};

use tessera_manifest::{check_files, planner, Images, Plan};

/// A path relative to the repository root.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The test product with every route kind (alpha -> beta exitless, alpha -> gamma trapped).
pub const ROUTES: &str = "kernel/manifest/tests/data/routes.toml";

/// The default product and the test product with every route kind.
pub fn manifests() -> [PathBuf; 2] {
    [repo("partitions/default.toml"), repo(ROUTES)]
}

/// Plans `manifest` on the emulator board (without images) and runs `check` on the plan.
pub fn with_plan<T>(manifest: &Path, check: impl FnOnce(&Plan<'_>) -> T) -> T {
    let model = check_files(&repo("board/emulator.toml"), manifest, Images::Skip)
        .unwrap_or_else(|errors| panic!("{}: {errors:?}", manifest.display()));
    let arena = bumpalo::Bump::new();
    check(&planner::plan(&arena, &model))
}
