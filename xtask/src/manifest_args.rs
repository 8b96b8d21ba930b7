//! The board and partitions files a command reads (`--board`, `--manifest`), shared by the
//! commands that take them.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct ManifestArgs {
    /// Board file (machine facts).
    #[arg(long, default_value = "board/emulator.toml")]
    pub board: PathBuf,
    /// Partitions file (product decisions).
    #[arg(long, default_value = "partitions/default.toml")]
    pub manifest: PathBuf,
}
