//! Builds the emulator once per cache key: unpack the orig tarball, apply the project's
//! patches in order, configure, make, and keep only the binary. Output goes to a build log.

use super::cache::{Layout, CONFIGURE_FLAGS, SOURCE_DIR_NAME, TARBALLS};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Builds `layout.bochs(key)` unless it exists; returns the binary's path.
pub fn ensure_built(layout: &Layout, key: &str, patches: &[PathBuf]) -> Result<PathBuf, String> {
    let bochs = layout.bochs(key);
    if bochs.is_file() {
        return Ok(bochs);
    }
    let started = Instant::now();
    let dir = layout.build_dir(key);
    let src = dir.join(SOURCE_DIR_NAME);
    let log_path = dir.join("build.log");
    if src.exists() {
        fs::remove_dir_all(&src).map_err(|e| format!("cannot clear {}: {e}", src.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log = Log {
        path: log_path.clone(),
    };
    let orig = layout.downloads().join(TARBALLS[0].0);
    let jobs = make_jobs();
    let mut steps: Vec<(&str, Command)> = vec![("unpack", cmd("tar", &["-xf"], Some(&orig), &dir))];
    for patch in patches {
        let args = ["-p1", "--forward", "--batch", "-i"];
        steps.push(("patch", cmd("patch", &args, Some(patch), &src)));
    }
    steps.push((
        "configure",
        cmd("./configure", &CONFIGURE_FLAGS, None, &src),
    ));
    steps.push(("make", cmd("make", &[jobs.as_str(), "bochs"], None, &src)));
    let total = steps.len();
    for (n, (what, mut command)) in steps.into_iter().enumerate() {
        eprintln!(
            "emulator: [{}/{total}] {what} ({:.0} s so far; log {})",
            n + 1,
            started.elapsed().as_secs_f64(),
            log_path.display()
        );
        log.run(&mut command, what)?;
    }
    install_binary(&src.join("bochs"), &bochs)?;
    let _ = fs::remove_dir_all(&src);
    eprintln!(
        "emulator: built {} in {:.0} s",
        bochs.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(bochs)
}

/// `-jN` with N = available cores (at least 1).
fn make_jobs() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("-j{cores}")
}

fn cmd(program: &str, args: &[&str], file: Option<&Path>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    if let Some(file) = file {
        command.arg(file);
    }
    command
}

fn install_binary(built: &Path, bochs: &Path) -> Result<(), String> {
    let bin = bochs.parent().expect("binary has a directory");
    fs::create_dir_all(bin).map_err(|e| format!("cannot create {}: {e}", bin.display()))?;
    // Copy to a temporary name first so a half-written binary is never taken as cached.
    let partial = bin.join("bochs.partial");
    fs::copy(built, &partial).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
    fs::rename(&partial, bochs).map_err(|e| format!("cannot rename to {}: {e}", bochs.display()))
}

/// The build log every step appends to.
struct Log {
    path: PathBuf,
}

impl Log {
    fn run(&self, command: &mut Command, what: &str) -> Result<(), String> {
        let out = File::options().create(true).append(true).open(&self.path);
        let out = out.map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let status = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| format!("emulator build step `{what}` could not start: {e}"))?;
        if status.success() {
            return Ok(());
        }
        Err(format!(
            "emulator build step `{what}` failed ({status}); last lines of {}:\n{}",
            self.path.display(),
            tail(&self.path, 20)
        ))
    }
}

/// The last `lines` lines of a text file (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
