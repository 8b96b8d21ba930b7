//! The block-device test of `flash` in `cargo xtask test`, on loop devices where the machine
//! allows them (root, `losetup`): an unconfirmed write is refused, a confirmed one is read back
//! (through the function, and through the command answering on standard input),
//! a device that is mounted, or holds a mounted partition, or is too small, is refused untouched,
//! and so is a regular file backing a mounted loop device. Says which cases ran and which could not.

use super::{flash, Failure, Options};
use crate::appliance::sha256_hex;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs every case it can; `Ok` lists what ran (and why the rest could not), `Err` a failed case.
pub fn check(image: &Path) -> Result<Vec<String>, String> {
    if let Err(why) = available() {
        return Ok(vec![format!("loop-device test not run: {why}")]);
    }
    let image_bytes = std::fs::read(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let work = tempfile::Builder::new()
        .prefix("tessera-flash-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let mut said = vec![confirmed_write(image, &image_bytes, work.path())?];
    said.push(answered_on_stdin(image, &image_bytes, work.path())?);
    said.push(too_small(image, image_bytes.len() as u64, work.path())?);
    match mkfs_and_mount_available(work.path()) {
        Ok(()) => {
            said.push(mounted_device(image, work.path())?);
            said.push(mounted_partition(image, &image_bytes, work.path())?);
        }
        Err(why) => said.push(format!("mounted-device cases not run: {why}")),
    }
    Ok(said)
}

/// Root and a working `losetup`.
fn available() -> Result<(), String> {
    if !crate::emulator::is_root() {
        return Err("not root (loop devices need root; run `cargo xtask test` as root)".into());
    }
    run("losetup", &["--find"]).map(|_| ())
}

fn mkfs_and_mount_available(dir: &Path) -> Result<(), String> {
    let file = backing(dir, "probe.raw", 8 << 20)?;
    let device = Loop::attach(&file, false)?;
    run("mkfs.ext4", &["-q", &device.path])?;
    Mount::new(&device.path, &dir.join("probe-mnt")).map(drop)
}

/// A zeroed file of `bytes` in `dir`.
fn backing(dir: &Path, name: &str, bytes: u64) -> Result<PathBuf, String> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.set_len(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn flash_to(
    image: &Path,
    device: &str,
    yes: bool,
    answer: &mut dyn FnMut(&str) -> bool,
) -> Result<super::Flashed, Failure> {
    let options = Options {
        yes,
        confirm: answer,
        after_sync: None,
        show_progress: false,
    };
    flash(image, Path::new(device), options)
}

fn expect_refusal(
    result: Result<super::Flashed, Failure>,
    expected: &str,
) -> Result<String, String> {
    match result {
        Err(Failure::Refused(why)) if why.contains(expected) => Ok(why),
        other => Err(format!(
            "expected a refusal saying `{expected}`, got {other:?}"
        )),
    }
}

fn device_digest(device: &str) -> Result<String, String> {
    std::fs::read(device)
        .map(|bytes| sha256_hex(&bytes))
        .map_err(|e| format!("{device}: {e}"))
}

/// Unconfirmed: refused with model and size in the question, nothing written. Confirmed: the
/// device holds the image.
fn confirmed_write(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let file = backing(dir, "disk.raw", bytes.len() as u64 + (1 << 20))?;
    let device = Loop::attach(&file, false)?;
    let before = device_digest(&device.path)?;
    let mut asked = String::new();
    let mut decline = |question: &str| {
        asked = question.to_string();
        false
    };
    expect_refusal(
        flash_to(image, &device.path, false, &mut decline),
        "was not confirmed",
    )?;
    let expected = format!(
        "over {} (loop device backed by {}, ",
        device.path,
        file.display()
    );
    if !asked.contains(&expected) {
        return Err(format!(
            "the question `{asked}` does not contain `{expected}`"
        ));
    }
    if device_digest(&device.path)? != before {
        return Err("a declined flash changed the device".into());
    }
    let mut never = |_: &str| false;
    let done = flash_to(image, &device.path, true, &mut never)
        .map_err(|e| format!("flash --yes to {}: {e:?}", device.path))?;
    let written = std::fs::read(&device.path).map_err(|e| format!("{}: {e}", device.path))?;
    if written[..bytes.len()] != *bytes {
        return Err(format!(
            "{} does not hold the image after flashing",
            device.path
        ));
    }
    Ok(format!(
        "loop device {}: declined question refused untouched, --yes wrote and read back {} bytes in {:.2} s + {:.2} s",
        device.path, done.bytes, done.write_s, done.verify_s
    ))
}

/// `cargo xtask flash` as a person runs it: the question on standard error names the device,
/// its model (the backing file) and size; `no` on standard input refuses with nothing written
/// (exit 1), `yes` writes and verifies (exit 0).
fn answered_on_stdin(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let file = backing(dir, "asked.raw", bytes.len() as u64 + (1 << 20))?;
    let device = Loop::attach(&file, false)?;
    let before = device_digest(&device.path)?;
    let question = format!(
        "over {} (loop device backed by {}, {})? Everything on it is lost",
        device.path,
        file.display(),
        super::target::human_bytes(bytes.len() as u64 + (1 << 20))
    );
    let (status, stdout, stderr) = flash_command(image, &device.path, "no\n")?;
    let refusal = format!(
        "refused: overwriting {} (loop device backed by",
        device.path
    );
    if status.code() != Some(1) || !stderr.contains(&question) || !stderr.contains(&refusal) {
        return Err(format!(
            "answering `no`: expected exit 1, the question `{question}` and `{refusal}`, got \
             {status}: {stdout}{stderr}"
        ));
    }
    unchanged(&device.path, &before)?;
    let (status, stdout, stderr) = flash_command(image, &device.path, "yes\n")?;
    if !status.success() || !stdout.starts_with("flashed ") {
        return Err(format!(
            "answering `yes`: expected exit 0 and `flashed ...`, got {status}: {stdout}{stderr}"
        ));
    }
    let written = std::fs::read(&device.path).map_err(|e| format!("{}: {e}", device.path))?;
    if written[..bytes.len()] != *bytes {
        return Err(format!("{} does not hold the image", device.path));
    }
    Ok(format!(
        "`cargo xtask flash` to {}: asked `...{question}...`; `no` refused it untouched (exit 1), \
         `yes` wrote it (exit 0)",
        device.path
    ))
}

/// Runs this program's `flash IMAGE --to DEVICE` with `answer` on standard input.
fn flash_command(
    image: &Path,
    device: &str,
    answer: &str,
) -> Result<(std::process::ExitStatus, String, String), String> {
    use std::io::Write;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = Command::new(exe)
        .arg("flash")
        .arg(image)
        .args(["--to", device])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run flash: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no standard input")?;
    stdin
        .write_all(answer.as_bytes())
        .map_err(|e| format!("writing the answer: {e}"))?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| format!("waiting for flash: {e}"))?;
    Ok((
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

fn too_small(image: &Path, image_bytes: u64, dir: &Path) -> Result<String, String> {
    let file = backing(dir, "small.raw", image_bytes - (1 << 20))?;
    let device = Loop::attach(&file, false)?;
    let before = device_digest(&device.path)?;
    let mut never = |_: &str| false;
    expect_refusal(
        flash_to(image, &device.path, true, &mut never),
        "is smaller than the image",
    )?;
    unchanged(&device.path, &before)?;
    Ok(format!(
        "loop device {} 1 MiB smaller than the image: refused untouched",
        device.path
    ))
}

/// A mounted ext4 loop device, and the regular file backing it, are refused untouched.
fn mounted_device(image: &Path, dir: &Path) -> Result<String, String> {
    let file = backing(dir, "fs.raw", 64 << 20)?;
    let device = Loop::attach(&file, false)?;
    run("mkfs.ext4", &["-q", &device.path])?;
    let mount = Mount::new(&device.path, &dir.join("mnt"))?;
    let before = device_digest(&device.path)?;
    let mut never = |_: &str| false;
    expect_refusal(
        flash_to(image, &device.path, true, &mut never),
        "is mounted at",
    )?;
    let file_text = file.display().to_string();
    expect_refusal(
        flash_to(image, &file_text, true, &mut never),
        "backs a loop device",
    )?;
    unchanged(&device.path, &before)?;
    drop(mount);
    Ok(format!(
        "mounted loop device {} and its backing file: refused untouched",
        device.path
    ))
}

/// A device one of whose partitions is mounted is refused untouched, and so is that partition.
fn mounted_partition(image: &Path, bytes: &[u8], dir: &Path) -> Result<String, String> {
    let file = backing(dir, "parted.raw", bytes.len() as u64)?;
    std::fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let device = Loop::attach(&file, true)?;
    let esp = format!("{}p2", device.path);
    let how = match partition_devices(&device.path, &esp) {
        Ok(how) => how,
        Err(why) => {
            return Ok(format!(
                "mounted-partition case not run: {why}; a host test covers the same check against \
                 a sysfs with partitions"
            ))
        }
    };
    run("mkfs.ext4", &["-q", &esp])?;
    let mount = Mount::new(&esp, &dir.join("part-mnt"))?;
    let before = device_digest(&device.path)?;
    let mut never = |_: &str| false;
    let expected = format!("{esp} is mounted at");
    expect_refusal(flash_to(image, &device.path, true, &mut never), &expected)?;
    expect_refusal(flash_to(image, &esp, true, &mut never), &expected)?;
    unchanged(&device.path, &before)?;
    drop(mount);
    Ok(format!(
        "loop device {} with partition {esp} ({how}) mounted: the device and the partition refused \
         untouched",
        device.path
    ))
}

/// Makes sure the partition device `esp` of `device` exists: the kernel's own scan of the GPT
/// (`losetup --partscan`), else `partx --add`, which reads the table itself and adds each
/// partition to the kernel (for kernels built without GPT support). Says which one made it.
fn partition_devices(device: &str, esp: &str) -> Result<&'static str, String> {
    if Path::new(esp).exists() {
        return Ok("from the kernel's partition scan");
    }
    run("partx", &["--add", device]).map_err(|e| format!("the kernel made no {esp} and {e}"))?;
    if Path::new(esp).exists() {
        Ok("added by `partx --add`: this kernel does not read GPTs")
    } else {
        Err(format!(
            "neither the kernel nor `partx --add` made {esp} (no devtmpfs on /dev?)"
        ))
    }
}

fn unchanged(device: &str, before: &str) -> Result<(), String> {
    if device_digest(device)? == before {
        Ok(())
    } else {
        Err(format!(
            "a refused flash changed {device} (sha256 {before} before)"
        ))
    }
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// An attached loop device, detached when dropped.
struct Loop {
    path: String,
}

impl Loop {
    fn attach(file: &Path, partitions: bool) -> Result<Loop, String> {
        let file = file.display().to_string();
        let mut args = vec!["--find", "--show"];
        if partitions {
            args.push("--partscan");
        }
        args.push(&file);
        Ok(Loop {
            path: run("losetup", &args)?,
        })
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = run("losetup", &["--detach", &self.path]);
    }
}

/// A file system mounted read-only, unmounted when dropped.
struct Mount {
    point: PathBuf,
}

impl Mount {
    fn new(device: &str, point: &Path) -> Result<Mount, String> {
        std::fs::create_dir_all(point).map_err(|e| format!("{}: {e}", point.display()))?;
        // Read-only: a file system mounted read-write writes to its device in the background
        // (ext4's lazy inode-table initialisation, the journal), which would read as a change the
        // refused flash made.
        run("mount", &["-o", "ro", device, &point.display().to_string()])?;
        Ok(Mount {
            point: point.to_path_buf(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = run("umount", &[&self.point.display().to_string()]);
    }
}
