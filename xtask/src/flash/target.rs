//! What `cargo xtask flash` writes to: a block device (its size, model and users) or an existing
//! regular file; anything else is refused before a byte is written.

use super::mounts::{self, DevNum};
use std::fs;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The kinds of target flash writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Block { dev: DevNum, model: String },
    File,
}

/// A target that exists and can be written, with its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub kind: Kind,
    pub bytes: u64,
}

impl Target {
    /// `/dev/sdb (SanDisk Ultra, 14.9 GiB)` or `disk.raw (regular file, 40.0 MiB)`.
    pub fn describe(&self) -> String {
        let model = match &self.kind {
            Kind::Block { model, .. } => model.as_str(),
            Kind::File => "regular file",
        };
        format!(
            "{} ({model}, {})",
            self.path.display(),
            human_bytes(self.bytes)
        )
    }
}

/// Looks at `path`: a block device or a regular file, else the reason it is neither.
pub fn examine(path: &Path) -> Result<Target, String> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{} does not exist: flash writes to an existing block device or regular file \
             (for a file: `truncate -s SIZE {}` first)",
            path.display(),
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })?;
    let kind = meta.file_type();
    if kind.is_block_device() {
        let dev = mounts::split_dev(meta.rdev());
        Ok(Target {
            path: path.to_path_buf(),
            bytes: device_bytes(path)?,
            kind: Kind::Block {
                dev,
                model: model_of(dev),
            },
        })
    } else if kind.is_file() {
        Ok(Target {
            path: path.to_path_buf(),
            bytes: meta.len(),
            kind: Kind::File,
        })
    } else {
        Err(format!(
            "{} is a {}, not a block device or a regular file",
            path.display(),
            kind_name(&kind)
        ))
    }
}

fn kind_name(kind: &fs::FileType) -> &'static str {
    if kind.is_dir() {
        "directory"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// A block device's size: the end of its data, found by seeking (no ioctl needed).
fn device_bytes(path: &Path) -> Result<u64, String> {
    let mut file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.seek(SeekFrom::End(0))
        .map_err(|e| format!("{}: cannot find its size: {e}", path.display()))
}

/// Vendor and model from sysfs (a partition's come from its disk), or what backs a loop device.
fn model_of(dev: DevNum) -> String {
    let dir = mounts::sys_dir(dev);
    let disk = if dir.join("partition").is_file() {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir.clone())
    } else {
        dir.clone()
    };
    let read = |p: PathBuf| fs::read_to_string(p).ok().map(|t| t.trim().to_string());
    if let Some(backing) = read(disk.join("loop/backing_file")) {
        return format!("loop device backed by {backing}");
    }
    let parts: Vec<String> = [
        read(disk.join("device/vendor")),
        read(disk.join("device/model")),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.is_empty())
    .collect();
    if parts.is_empty() {
        "model unknown".into()
    } else {
        parts.join(" ")
    }
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_targets_and_other_kinds_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("disk.raw");
        fs::write(&file, vec![0u8; 4096]).unwrap();
        let target = examine(&file).unwrap();
        assert_eq!((target.kind.clone(), target.bytes), (Kind::File, 4096));
        assert!(
            target.describe().ends_with("(regular file, 4.0 KiB)"),
            "{}",
            target.describe()
        );
        let error = examine(dir.path()).unwrap_err();
        assert!(
            error.ends_with("is a directory, not a block device or a regular file"),
            "{error}"
        );
        let error = examine(Path::new("/dev/null")).unwrap_err();
        assert!(error.contains("is a character device"), "{error}");
        let error = examine(&dir.path().join("absent")).unwrap_err();
        assert!(error.contains("does not exist"), "{error}");
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(38 << 20), "38.0 MiB");
    }
}
