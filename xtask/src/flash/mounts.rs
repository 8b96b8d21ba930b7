//! Whether a flash target is in use: a device (or one of its partitions) mounted, used as swap or
//! held by another block device (device mapper, RAID), or a regular file that backs a mounted loop
//! device. Reads /proc and /sys; the parsers are pure and host-tested.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A block device number as `(major, minor)`.
pub type DevNum = (u32, u32);

/// Linux's `dev_t` split into major and minor (glibc's `gnu_dev_major`/`gnu_dev_minor`).
pub fn split_dev(dev: u64) -> DevNum {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// One mount from /proc/self/mountinfo: its device number, mount point and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub dev: DevNum,
    pub mount_point: String,
    pub source: String,
}

/// Parses /proc/self/mountinfo (`id parent major:minor root mount-point options ... - type source ...`).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let (major, minor) = fields.get(2)?.split_once(':')?;
            let dash = fields.iter().position(|f| *f == "-")?;
            Some(Mount {
                dev: (major.parse().ok()?, minor.parse().ok()?),
                mount_point: unescape(fields.get(4)?),
                source: unescape(fields.get(dash + 2)?),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let text = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(value)) => {
                out.push(value);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the kernel's views are read from: /proc and /sys, or a copy of them in tests.
#[derive(Debug, Clone)]
pub struct System {
    /// The sysfs root (`/sys`).
    pub sys: PathBuf,
    pub mounts: Vec<Mount>,
    /// Device numbers of block devices used as swap.
    pub swap_devices: Vec<DevNum>,
}

impl System {
    /// This machine's mounts, swaps and sysfs.
    pub fn current() -> System {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        System {
            sys: PathBuf::from("/sys"),
            mounts: parse_mountinfo(&mountinfo),
            swap_devices: swap_paths().iter().filter_map(|p| source_dev(p)).collect(),
        }
    }

    /// /sys/dev/block/MAJOR:MINOR resolved to the device's directory.
    pub fn dev_dir(&self, dev: DevNum) -> PathBuf {
        let link = self.sys.join(format!("dev/block/{}:{}", dev.0, dev.1));
        fs::canonicalize(&link).unwrap_or(link)
    }

    /// `dev` and each of its partitions (directories with a `partition` file), with their names.
    pub fn device_and_partitions(&self, dev: DevNum) -> Vec<(DevNum, String)> {
        let dir = self.dev_dir(dev);
        let mut found = vec![(dev, name_of(&dir))];
        let entries = fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).collect::<Vec<_>>());
        for entry in entries.unwrap_or_default() {
            let child = entry.path();
            if child.join("partition").is_file() {
                if let Some(number) = read_dev(&child.join("dev")) {
                    found.push((number, name_of(&child)));
                }
            }
        }
        found
    }

    /// Why the block device `dev` cannot be written: each use of it or of its partitions.
    pub fn device_uses(&self, dev: DevNum) -> Vec<String> {
        let mut uses = Vec::new();
        for (number, name) in self.device_and_partitions(dev) {
            for mount in &self.mounts {
                if mount.dev == number || source_dev(&mount.source) == Some(number) {
                    uses.push(format!("{name} is mounted at {}", mount.mount_point));
                }
            }
            let holders = fs::read_dir(self.dev_dir(number).join("holders"));
            for holder in holders.into_iter().flatten().filter_map(Result::ok) {
                let holder = holder.file_name().to_string_lossy().into_owned();
                uses.push(format!("{name} is held by /dev/{holder}"));
            }
            if self.swap_devices.contains(&number) {
                uses.push(format!("{name} is in use as swap"));
            }
        }
        uses.sort();
        uses.dedup();
        uses
    }
}

fn name_of(dir: &Path) -> String {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    format!("/dev/{}", name.unwrap_or_default())
}

fn read_dev(path: &Path) -> Option<DevNum> {
    let text = fs::read_to_string(path).ok()?;
    let (major, minor) = text.trim().split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Why the block device `dev` cannot be written, on this machine.
pub fn device_uses(dev: DevNum) -> Vec<String> {
    System::current().device_uses(dev)
}

/// /sys/dev/block/MAJOR:MINOR of this machine, resolved.
pub fn sys_dir(dev: DevNum) -> PathBuf {
    System::current().dev_dir(dev)
}

/// Why the regular file `path` cannot be written: swap file, or backing file of a loop device
/// that is (or has a partition that is) mounted or held.
pub fn file_uses(path: &Path) -> Vec<String> {
    let Ok(target) = fs::metadata(path) else {
        return Vec::new();
    };
    let same_file = |other: &Path| {
        fs::metadata(other).is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
    };
    let mut uses: Vec<String> = swap_paths()
        .iter()
        .filter(|swap| same_file(Path::new(swap)))
        .map(|_| format!("{} is in use as swap", path.display()))
        .collect();
    for (loop_dev, backing) in loop_devices() {
        if same_file(Path::new(&backing)) {
            let inner = device_uses(loop_dev);
            uses.extend(
                inner
                    .into_iter()
                    .map(|u| format!("{} backs a loop device: {u}", path.display())),
            );
        }
    }
    uses
}

/// The device number of `source` if it is a block device node.
fn source_dev(source: &str) -> Option<DevNum> {
    use std::os::unix::fs::FileTypeExt;
    let meta = fs::metadata(source).ok()?;
    meta.file_type()
        .is_block_device()
        .then(|| split_dev(meta.rdev()))
}

fn swap_paths() -> Vec<String> {
    let text = fs::read_to_string("/proc/swaps").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(unescape))
        .collect()
}

/// Each loop device with a backing file: its number and the file's path.
fn loop_devices() -> Vec<(DevNum, String)> {
    let entries = fs::read_dir("/sys/block").map(|d| d.filter_map(Result::ok).collect::<Vec<_>>());
    entries
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| {
            let dir = entry.path();
            let backing = fs::read_to_string(dir.join("loop/backing_file")).ok()?;
            Some((read_dev(&dir.join("dev"))?, backing.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_device_mount_point_and_source() {
        let text = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    45 27 7:0 / /tmp/my\\040disk rw,relatime shared:1 - ext4 /dev/loop0 rw\n\
                    garbage\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 2);
        assert_eq!(
            mounts[1],
            Mount {
                dev: (7, 0),
                mount_point: "/tmp/my disk".into(),
                source: "/dev/loop0".into(),
            }
        );
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        assert_eq!(split_dev(0x0700), (7, 0));
        assert_eq!(split_dev(0x0803), (8, 3));
        assert_eq!(split_dev((259 << 8) | 1), (259, 1));
        assert_eq!(
            split_dev(((0x1234u64 & !0xfff) << 32) | (0x234 << 8) | 0x56),
            (0x1234, 0x56)
        );
    }

    /// A sysfs with disk 8:0 (`sdz`), its partitions 8:1 and 8:2, and 8:2 held by dm-3.
    fn fake_sys() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let disk = root.path().join("devices/sdz");
        for (name, dev) in [("sdz1", "8:1"), ("sdz2", "8:2")] {
            fs::create_dir_all(disk.join(name).join("holders")).unwrap();
            fs::write(disk.join(name).join("partition"), "1\n").unwrap();
            fs::write(disk.join(name).join("dev"), format!("{dev}\n")).unwrap();
        }
        fs::create_dir_all(disk.join("sdz2/holders/dm-3")).unwrap();
        fs::create_dir_all(root.path().join("dev/block")).unwrap();
        for (number, target) in [("8:0", "sdz"), ("8:1", "sdz/sdz1"), ("8:2", "sdz/sdz2")] {
            let link = root.path().join("dev/block").join(number);
            std::os::unix::fs::symlink(disk.parent().unwrap().join(target), link).unwrap();
        }
        root
    }

    #[test]
    fn a_mounted_held_or_swapping_partition_makes_its_disk_in_use() {
        let root = fake_sys();
        let mount = |dev, at: &str| Mount {
            dev,
            mount_point: at.into(),
            source: "/nonexistent".into(),
        };
        let system = System {
            sys: root.path().to_path_buf(),
            mounts: vec![mount((8, 1), "/boot/efi"), mount((9, 9), "/elsewhere")],
            swap_devices: vec![(8, 0)],
        };
        let names: Vec<String> = system
            .device_and_partitions((8, 0))
            .into_iter()
            .map(|p| p.1)
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(
            system.device_uses((8, 0)),
            [
                "/dev/sdz is in use as swap",
                "/dev/sdz1 is mounted at /boot/efi",
                "/dev/sdz2 is held by /dev/dm-3",
            ]
        );
        assert_eq!(
            system.device_uses((8, 1)),
            ["/dev/sdz1 is mounted at /boot/efi"]
        );
        let quiet = System {
            mounts: Vec::new(),
            swap_devices: Vec::new(),
            ..system
        };
        assert_eq!(quiet.device_uses((8, 1)), Vec::<String>::new());
    }

    #[test]
    fn the_root_file_systems_device_is_in_use() {
        let root = fs::metadata("/").unwrap().dev();
        let mounts = parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap());
        assert!(mounts
            .iter()
            .any(|m| m.dev == split_dev(root) && m.mount_point == "/"));
    }
}
