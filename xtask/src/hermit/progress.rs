//! Progress lines and a build log for the Hermit build: each step prints one line with the time so
//! far, and its command's output goes to the log, whose tail is shown when a step fails.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Numbered steps sharing one log file.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    log: PathBuf,
}

impl Progress {
    /// `total` steps logging to `log` (created or appended to).
    pub fn new(total: usize, log: PathBuf) -> Progress {
        Progress {
            total,
            done: 0,
            started: Instant::now(),
            log,
        }
    }

    /// Announces the next step.
    pub fn step(&mut self, what: &str) {
        self.done += 1;
        eprintln!(
            "hermit: [{}/{}] {what} ({:.0} s so far; log {})",
            self.done,
            self.total,
            self.seconds(),
            self.log.display()
        );
    }

    /// Seconds since the first step began.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Runs `command` with its output appended to the log; an error names the step and shows the
    /// log's last lines.
    pub fn run(&self, command: &mut Command, what: &str) -> Result<(), String> {
        self.output(command, what).map(|_| ())
    }

    /// Like `run`, but returns the command's standard output (not logged).
    pub fn output(&self, command: &mut Command, what: &str) -> Result<String, String> {
        if let Some(dir) = self.log.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let log = File::options().create(true).append(true).open(&self.log);
        let log = log.map_err(|e| format!("cannot open {}: {e}", self.log.display()))?;
        let out = command
            .stdin(Stdio::null())
            .stderr(log)
            .output()
            .map_err(|e| format!("hermit build step `{what}` could not start: {e}"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(format!(
            "hermit build step `{what}` failed ({}); last lines of {}:\n{}",
            out.status,
            self.log.display(),
            tail(&self.log, 25)
        ))
    }
}

/// The last `lines` lines of a text file (empty if unreadable).
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
