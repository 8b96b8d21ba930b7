//! Makes sure the pinned toolchain (with the bare-metal target and rust-src) is installed.

use std::process::Command;

/// Installs what `rust-toolchain.toml` pins; a no-op once it is there.
pub fn ensure() -> Result<(), String> {
    let status = Command::new("rustup")
        .args(["toolchain", "install"])
        .status()
        .map_err(|e| {
            format!("cannot run rustup: {e}; install rustup, then run `rustup toolchain install`")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err("`rustup toolchain install` failed; run it by hand to see why".into())
    }
}
