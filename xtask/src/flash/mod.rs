//! `cargo xtask flash IMAGE --to TARGET`: writes a verified appliance image to a block device or an
//! existing regular file, fsyncs, reads it back and compares. Every refusal happens before the
//! target is opened for writing; a failed, short or interrupted write is never reported as success.

pub mod commands_check;
mod copy;
pub mod loop_device;
mod mounts;
mod target;

use clap::Args;
use std::fs::OpenOptions;
use std::io::BufRead;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use target::Kind;

#[derive(Args, Clone)]
pub struct FlashArgs {
    /// The disk image (`target/images/<manifest>-<version>.img`).
    pub image: PathBuf,
    /// A block device (e.g. /dev/sdb) or an existing regular file at least as large as the image.
    #[arg(long = "to", value_name = "TARGET")]
    pub to: PathBuf,
    /// Do not ask before overwriting a block device.
    #[arg(long)]
    pub yes: bool,
}

/// How a flash did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Stopped before opening the target for writing: not a byte was written.
    Refused(String),
    /// Stopped while or after writing: the target may hold part of the image.
    Failed(String),
}

/// Choices of the caller (the command, or a test).
pub struct Options<'a> {
    /// Overwrite a block device without asking.
    pub yes: bool,
    /// Asks the question it is given; true to go on.
    pub confirm: &'a mut dyn FnMut(&str) -> bool,
    /// Runs after the write and fsync, before the read-back (tests change the target here).
    pub after_sync: Option<&'a dyn Fn(&Path)>,
    pub show_progress: bool,
}

/// A write that was read back and matched.
#[derive(Debug, Clone)]
pub struct Flashed {
    pub target: String,
    pub bytes: u64,
    pub sha256: String,
    pub write_s: f64,
    pub verify_s: f64,
}

/// Entry point of `cargo xtask flash`.
pub fn main(args: &FlashArgs) -> ExitCode {
    let mut ask = ask_on_terminal;
    let options = Options {
        yes: args.yes,
        confirm: &mut ask,
        after_sync: None,
        show_progress: true,
    };
    match flash(&args.image, &args.to, options) {
        Ok(done) => {
            println!(
                "flashed {} bytes to {}: written in {:.1} s, read back in {:.1} s, sha256 {} matches the image",
                done.bytes, done.target, done.write_s, done.verify_s, done.sha256
            );
            ExitCode::SUCCESS
        }
        Err(Failure::Refused(why)) => {
            eprintln!(
                "refused: {why} (nothing was written to {})",
                args.to.display()
            );
            ExitCode::FAILURE
        }
        Err(Failure::Failed(why)) => {
            eprintln!(
                "error: {why}; {} may hold part of the image",
                args.to.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Asks on standard error; only `yes` on standard input goes on.
fn ask_on_terminal(question: &str) -> bool {
    eprint!("{question}");
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    read.is_ok_and(|n| n > 0) && answer.trim() == "yes"
}

/// Checks everything, then writes `image` to `to`, fsyncs and reads it back.
pub fn flash(image: &Path, to: &Path, options: Options) -> Result<Flashed, Failure> {
    let bytes = verified_image(image).map_err(Failure::Refused)?;
    let target = checked_target(image, to, bytes.len() as u64).map_err(Failure::Refused)?;
    if matches!(target.kind, Kind::Block { .. }) && !options.yes {
        let question = format!(
            "write {} ({}) over {}? Everything on it is lost. Type `yes` to go on: ",
            image.display(),
            target::human_bytes(bytes.len() as u64),
            target.describe()
        );
        if !(options.confirm)(&question) {
            return Err(Failure::Refused(format!(
                "overwriting {} was not confirmed",
                target.describe()
            )));
        }
    }
    let started = Instant::now();
    write_and_sync(&target, &bytes, options.show_progress)?;
    let write_s = started.elapsed().as_secs_f64();
    if let Some(hook) = options.after_sync {
        hook(to);
    }
    let started = Instant::now();
    let sha256 = read_back(&target, &bytes, options.show_progress).map_err(Failure::Failed)?;
    Ok(Flashed {
        target: target.describe(),
        bytes: bytes.len() as u64,
        sha256,
        write_s,
        verify_s: started.elapsed().as_secs_f64(),
    })
}

/// The image's bytes, when its metadata verifies completely.
fn verified_image(image: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let report = crate::appliance::inspect(&bytes)
        .map_err(|e| format!("{} does not verify: {e}", image.display()))?;
    let bad: Vec<&str> = report
        .mismatches()
        .iter()
        .map(|c| c.what.as_str())
        .collect();
    if bad.is_empty() {
        Ok(bytes)
    } else {
        Err(format!(
            "{} does not verify (`cargo xtask inspect` says what differs): {}",
            image.display(),
            bad.join("; ")
        ))
    }
}

/// The target, when it is a block device or regular file that is large enough, not the image
/// itself and not in use; else every reason it is not (a partition too small and mounted: both).
fn checked_target(image: &Path, to: &Path, image_bytes: u64) -> Result<target::Target, String> {
    let target = target::examine(to)?;
    let (a, b) = (std::fs::metadata(image), std::fs::metadata(to));
    if let (Ok(a), Ok(b)) = (a, b) {
        if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
            return Err(format!("{} is the image itself", to.display()));
        }
    }
    let mut problems = Vec::new();
    if target.bytes < image_bytes {
        problems.push(format!(
            "{} is smaller than the image: {} bytes, the image needs {image_bytes}",
            target.describe(),
            target.bytes
        ));
    }
    let uses = match &target.kind {
        Kind::Block { dev, .. } => mounts::device_uses(*dev),
        Kind::File => mounts::file_uses(to),
    };
    if !uses.is_empty() {
        problems.push(format!(
            "{} is in use: {}",
            target.describe(),
            uses.join("; ")
        ));
    }
    if problems.is_empty() {
        Ok(target)
    } else {
        Err(problems.join("; and "))
    }
}

/// Opens the target for writing (a block device exclusively: the kernel refuses it while
/// mounted), writes the image and fsyncs it.
fn write_and_sync(target: &target::Target, image: &[u8], show: bool) -> Result<(), Failure> {
    let mut open = OpenOptions::new();
    open.write(true);
    if matches!(target.kind, Kind::Block { .. }) {
        open.custom_flags(libc::O_EXCL);
    }
    let mut file = open.open(&target.path).map_err(|e| {
        Failure::Refused(format!(
            "cannot open {} for writing: {e}",
            target.path.display()
        ))
    })?;
    let bar = bar(image.len() as u64, "writing", show);
    copy::write_all(&mut file, image, &bar).map_err(Failure::Failed)?;
    bar.set_message("syncing");
    file.sync_all()
        .map_err(|e| Failure::Failed(format!("fsync of {} failed: {e}", target.path.display())))?;
    bar.finish_and_clear();
    Ok(())
}

/// Reads the image's length back (a block device with O_DIRECT, past the page cache).
fn read_back(target: &target::Target, image: &[u8], show: bool) -> Result<String, String> {
    let direct = matches!(target.kind, Kind::Block { .. });
    let mut open = OpenOptions::new();
    open.read(true);
    if direct {
        open.custom_flags(libc::O_DIRECT);
    }
    let mut file = open
        .open(&target.path)
        .map_err(|e| format!("cannot open {} to read it back: {e}", target.path.display()))?;
    // O_DIRECT needs a buffer aligned to the logical block size: take a 4 KiB aligned window.
    let mut storage = vec![0u8; copy::CHUNK_BYTES + 4096];
    let pad = storage.as_ptr().align_offset(4096);
    let buffer = &mut storage[pad..pad + copy::CHUNK_BYTES];
    let bar = bar(image.len() as u64, "verifying", show);
    let digest = copy::read_back(&mut file, image, buffer, &bar)?;
    bar.finish_and_clear();
    Ok(digest)
}

fn bar(bytes: u64, what: &str, show: bool) -> indicatif::ProgressBar {
    if show {
        copy::progress(bytes, what)
    } else {
        indicatif::ProgressBar::hidden()
    }
}

#[cfg(test)]
mod tests;
