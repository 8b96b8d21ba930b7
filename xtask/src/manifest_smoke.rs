//! Smoke runs of `cargo xtask check` and `explain` (part of `cargo xtask test`'s host phase):
//! every shipped manifest (each file under partitions/) passes, a broken one fails with exit 1 and a located error, and
//! `explain --json` prints the plan, `explain` and `explain --release` lay the heap out for their
//! builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs this xtask binary with `args` (images not read: they may not be built yet).
fn xtask(args: &[&str]) -> Result<Output, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args(args)
        .current_dir(root())
        .env("TESSERA_IMAGES", "skip")
        .output()
        .map_err(|e| format!("cannot run xtask: {e}"))
}

/// Runs every smoke check; the first failure is returned as a message.
pub fn run() -> Result<(), String> {
    for shipped in tessera_manifest::shipped::manifests(&root())? {
        let board = shipped.board.display().to_string();
        let manifest = shipped.manifest.display().to_string();
        let out = xtask(&["check", "--board", &board, "--manifest", &manifest])?;
        if !out.status.success() {
            return Err(format!(
                "check {manifest}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let bad = std::env::temp_dir().join(format!("tessera-smoke-{}.toml", std::process::id()));
    let text = "board = \"emulator\"\nipiv = \"required\"\n\n[[partition]]\nname = \"a\"\ncpus = [\"cpu9\"]\nmemory = \"2 MiB\"\nimage = \"x\"\n";
    std::fs::write(&bad, text).map_err(|e| e.to_string())?;
    let out = xtask(&["check", "--manifest", &bad.display().to_string()])?;
    let _ = std::fs::remove_file(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(1) || !stderr.contains(".toml:6:9: unknown board CPU `cpu9`") {
        return Err(format!(
            "check of a bad manifest: exit {:?}, stderr:\n{stderr}",
            out.status.code()
        ));
    }
    let out = xtask(&["explain", "--json"])?;
    let json = String::from_utf8_lossy(&out.stdout);
    if !out.status.success()
        || !json.trim_start().starts_with('{')
        || !json.contains("\"pid_table\"")
    {
        return Err(format!("explain --json printed:\n{json}"));
    }
    let out = xtask(&["explain"])?;
    let debug = String::from_utf8_lossy(&out.stdout).into_owned();
    if !debug.contains("KVM's default would allocate") {
        return Err("explain did not compare with KVM's default table".into());
    }
    let out = xtask(&["explain", "--release"])?;
    let release = String::from_utf8_lossy(&out.stdout).into_owned();
    let heading = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("heap "))
            .map(str::to_owned)
    };
    match (heading(&debug), heading(&release)) {
        (Some(d), Some(r))
            if d.starts_with("heap (debug build): ")
                && r.starts_with("heap (release build): ")
                && d["heap (debug build): ".len()..] != r["heap (release build): ".len()..] => {}
        (d, r) => {
            return Err(format!(
                "explain and explain --release should lay the heap out for their builds, \
                 with different sizes; they printed {d:?} and {r:?}"
            ))
        }
    }
    Ok(())
}
