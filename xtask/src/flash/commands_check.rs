//! The image commands as people run them, a step of `cargo xtask test` on the default disk image:
//! `cargo xtask inspect` of the image (exit 0) and of copies with one byte changed (exit 1 naming
//! what differs), and `cargo xtask flash` to regular files: a write read back, a tampered image and
//! a character device refused untouched, a write cut short by a file-size limit (a failure naming
//! how far it got) and a write ended by a signal (no success line).

use crate::appliance::{find, Metadata};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where the short and interrupted writes stop: past 3 MiB, in the middle of a 1 MiB step.
const LIMIT_BYTES: usize = (3 << 20) + 1000;

/// Runs every case against `image` (which must verify); `Ok` says what each showed.
pub fn check(image: &Path, metadata: &Metadata) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let work = tempfile::Builder::new()
        .prefix("tessera-commands-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let mut said = vec![inspect_good(image)?];
    let board = tampered_board(&bytes, metadata, work.path())?;
    said.push(inspect_bad(
        &board,
        &["board file /tessera/board.toml", "region esp"],
    )?);
    let partition = tampered_partition(&bytes, metadata, work.path())?;
    let first = &metadata.partitions[0];
    said.push(inspect_bad(
        &partition,
        &[
            &format!("partition {} image", first.name),
            "hypervisor ELF /tessera/hypervisor.elf",
        ],
    )?);
    said.push(flash_refusals(&partition, work.path())?);
    said.push(flash_file(image, &bytes, work.path())?);
    said.push(short_write(image, &bytes, work.path())?);
    said.push(signalled_write(image, &bytes, work.path())?);
    Ok(said)
}

/// This program (`cargo xtask`) with `args`, standard input empty.
fn xtask(args: &[&str]) -> Result<Output, String> {
    run(Command::new(exe()?).args(args))
}

fn exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))
}

fn run(command: &mut Command) -> Result<Output, String> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn inspect_good(image: &Path) -> Result<String, String> {
    let output = xtask(&["inspect", &shown(image)])?;
    let (stdout, stderr) = text(&output);
    let verdict = stdout.lines().last().unwrap_or_default().to_string();
    if !output.status.success() || !verdict.contains(": all ") {
        return Err(format!(
            "`cargo xtask inspect {}` ({}): {stdout}{stderr}",
            image.display(),
            output.status
        ));
    }
    Ok(format!("inspect of the image: exit 0, `{verdict}`"))
}

/// `inspect` of `copy` exits 1 and marks each of `expected` as a mismatch.
fn inspect_bad(copy: &Path, expected: &[&str]) -> Result<String, String> {
    let output = xtask(&["inspect", &shown(copy)])?;
    let (stdout, stderr) = text(&output);
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|what| !stdout.contains(&format!("MISMATCH  {what}")))
        .collect();
    if output.status.code() != Some(1) || !missing.is_empty() {
        return Err(format!(
            "`cargo xtask inspect {}` ended {} without naming {missing:?}: {stdout}{stderr}",
            copy.display(),
            output.status
        ));
    }
    let verdict = stdout.lines().last().unwrap_or_default();
    Ok(format!(
        "inspect of {}: exit 1, `{verdict}`",
        copy.file_name().unwrap_or_default().to_string_lossy()
    ))
}

/// A copy of the image with one byte of `needle` (found in the image) changed.
fn tampered(image: &[u8], needle: &[u8], what: &str, to: PathBuf) -> Result<PathBuf, String> {
    let at = find(image, needle)
        .ok_or_else(|| format!("cannot find {what} in the image's bytes to change one"))?;
    let mut copy = image.to_vec();
    copy[at + needle.len() / 2] ^= 0x20;
    std::fs::write(&to, copy).map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(to)
}

/// The board file in the ESP with one byte changed.
fn tampered_board(image: &[u8], metadata: &Metadata, dir: &Path) -> Result<PathBuf, String> {
    let board = source_bytes(&metadata.board.source, &metadata.board.sha256)?;
    tampered(
        image,
        &board,
        "the board file",
        dir.join("board-changed.img"),
    )
}

/// The first partition's load image (what the hypervisor ELF in the ESP embeds: the packed
/// segment contents of the manifest's `image`), with one byte changed.
fn tampered_partition(image: &[u8], metadata: &Metadata, dir: &Path) -> Result<PathBuf, String> {
    let first = metadata
        .partitions
        .first()
        .ok_or("the metadata names no partition")?;
    let path = crate::workspace::root().join(&first.image);
    let file = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loaded = tessera_manifest::check::load_image(&file, None)
        .map_err(|(why, _)| format!("{}: {why}", path.display()))?;
    let bytes = recorded(loaded.bytes, &path, &first.sha256)?;
    let to = dir.join("partition-changed.img");
    tampered(
        image,
        &bytes,
        &format!("partition {}'s image", first.name),
        to,
    )
}

/// A file the metadata names (relative to the workspace), checked against its recorded digest.
fn source_bytes(relative: &str, sha256: &str) -> Result<Vec<u8>, String> {
    let path = crate::workspace::root().join(relative);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    recorded(bytes, &path, sha256)
}

/// `bytes` (read from or made of `path`) if their digest is the one recorded.
fn recorded(bytes: Vec<u8>, path: &Path, sha256: &str) -> Result<Vec<u8>, String> {
    if crate::appliance::sha256_hex(&bytes) != sha256 {
        return Err(format!(
            "{} changed since the image was built",
            path.display()
        ));
    }
    Ok(bytes)
}

/// A file of `bytes` bytes of 0x5A.
fn filler(dir: &Path, name: &str, bytes: usize) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, vec![0x5A; bytes]).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn still_filler(path: &Path, bytes: usize) -> Result<(), String> {
    let now = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if now == vec![0x5A; bytes] {
        Ok(())
    } else {
        Err(format!("a refused flash changed {}", path.display()))
    }
}

/// A tampered image, and a character device as target, are refused with nothing written.
fn flash_refusals(tampered: &Path, dir: &Path) -> Result<String, String> {
    let bytes = std::fs::metadata(tampered)
        .map_err(|e| e.to_string())?
        .len() as usize;
    let target = filler(dir, "untouched.raw", bytes)?;
    let output = xtask(&["flash", &shown(tampered), "--to", &shown(&target)])?;
    expect_refused(&output, "does not verify")?;
    still_filler(&target, bytes)?;
    let output = xtask(&["flash", &shown(tampered), "--to", "/dev/null"])?;
    expect_refused(&output, "does not verify")?;
    Ok("flash of a tampered image to a file and to /dev/null: exit 1, refused untouched".into())
}

fn expect_refused(output: &Output, expected: &str) -> Result<(), String> {
    let (stdout, stderr) = text(output);
    let refused = stderr.contains("refused: ") && stderr.contains("nothing was written");
    if output.status.code() == Some(1) && refused && stderr.contains(expected) {
        Ok(())
    } else {
        Err(format!(
            "expected exit 1 and a refusal saying `{expected}`, got {}: {stdout}{stderr}",
            output.status
        ))
    }
}

/// A regular file 4 KiB larger than the image: written, read back, the tail left alone.
fn flash_file(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let target = filler(dir, "disk.raw", bytes.len() + 4096)?;
    let output = xtask(&["flash", &shown(image), "--to", &shown(&target)])?;
    let (stdout, stderr) = text(&output);
    let written = std::fs::read(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    let holds = written[..bytes.len()] == *bytes && written[bytes.len()..] == [0x5A; 4096];
    if !output.status.success() || !stdout.starts_with("flashed ") || !holds {
        return Err(format!(
            "flash to {} ({}, image written: {holds}): {stdout}{stderr}",
            target.display(),
            output.status
        ));
    }
    Ok(format!(
        "flash to a regular file: exit 0, `{}`",
        stdout.trim()
    ))
}

/// `flash` under a file-size limit of `LIMIT_BYTES` (`prlimit`), with SIGXFSZ ignored (`ignore`:
/// the write past the limit fails with EFBIG) or left to end the process.
fn limited_flash(image: &Path, target: &Path, ignore: bool) -> Result<Output, String> {
    let limit = format!("--fsize={LIMIT_BYTES}");
    let exe = exe()?;
    let flash = [shown(&exe), "flash".into(), shown(image), "--to".into()];
    let mut command = if ignore {
        let mut sh = Command::new("sh");
        sh.args(["-c", "trap '' XFSZ; exec \"$@\"", "sh", "prlimit", &limit]);
        sh
    } else {
        let mut prlimit = Command::new("prlimit");
        prlimit.arg(&limit);
        prlimit
    };
    command.arg("--").args(flash).arg(target);
    run(&mut command)
}

/// The target's first `LIMIT_BYTES` hold the image's: the write really got that far.
fn wrote_up_to_limit(target: &Path, bytes: &[u8]) -> Result<(), String> {
    let written = std::fs::read(target).map_err(|e| format!("{}: {e}", target.display()))?;
    if written[..LIMIT_BYTES] == bytes[..LIMIT_BYTES] {
        Ok(())
    } else {
        Err(format!(
            "{} does not start with the image's first {LIMIT_BYTES} bytes",
            target.display()
        ))
    }
}

/// A write the target stops taking part-way (EFBIG past the file-size limit) is a failure saying
/// how many bytes got there, never a success.
fn short_write(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let target = filler(dir, "short.raw", bytes.len())?;
    let output = limited_flash(image, &target, true)?;
    let (stdout, stderr) = text(&output);
    let expected = format!("write failed after {LIMIT_BYTES} of {} bytes", bytes.len());
    let failed = stderr.contains(&expected) && stderr.contains("may hold part of the image");
    if output.status.code() != Some(1) || !failed || stdout.contains("flashed") {
        return Err(format!(
            "a write cut at {LIMIT_BYTES} bytes: expected exit 1 saying `{expected}`, got {}: \
             {stdout}{stderr}",
            output.status
        ));
    }
    wrote_up_to_limit(&target, bytes)?;
    let line = stderr.lines().find(|l| l.contains(&expected));
    Ok(format!(
        "flash cut short by a {LIMIT_BYTES}-byte file-size limit: exit 1, `{}`",
        line.unwrap_or_default()
    ))
}

/// A write ended by a signal (SIGXFSZ, whose default action ends the process, at the first write
/// past the limit) prints no success line and exits unsuccessfully.
fn signalled_write(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let target = filler(dir, "interrupted.raw", bytes.len())?;
    let output = limited_flash(image, &target, false)?;
    let (stdout, stderr) = text(&output);
    if output.status.success() || stdout.contains("flashed") {
        return Err(format!(
            "a flash ended by SIGXFSZ reported {}: {stdout}{stderr}",
            output.status
        ));
    }
    wrote_up_to_limit(&target, bytes)?;
    Ok(match output.status.signal() {
        Some(signal) => format!(
            "flash ended by signal {signal} mid-write: no success line, {}",
            output.status
        ),
        None => format!(
            "flash past the file-size limit (SIGXFSZ ignored by this environment): {}, no \
             success line",
            output.status
        ),
    })
}
