//! The runner smoke image: a few instructions that print a result line, booted first to show the
//! emulator runner works before any Tessera image is judged by it.

use super::cache;
use std::path::PathBuf;
use std::process::Command;

/// Assembles and links tests/emulator/runner-smoke into target/emulator/runner-smoke.elf.
pub fn build_runner_smoke() -> Result<PathBuf, String> {
    let dir = crate::workspace::root().join("tests/emulator/runner-smoke");
    let out = cache::Layout::of_workspace().root;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let object = out.join("runner-smoke.o");
    let elf = out.join("runner-smoke.elf");
    let mut assemble = Command::new("as");
    assemble
        .arg("--32")
        .arg("-o")
        .arg(&object)
        .arg(dir.join("smoke.S"));
    tool(&mut assemble, "as")?;
    let mut link = Command::new("ld");
    link.args(["-m", "elf_i386", "-T"]).arg(dir.join("link.ld"));
    tool(link.arg("-o").arg(&elf).arg(&object), "ld")?;
    Ok(elf)
}

fn tool(command: &mut Command, name: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {name}: {e} (Debian: binutils)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name} failed ({status}) building the runner smoke image"
        ))
    }
}
