//! Host tests of `flash` with regular files: a write that verifies, each refusal (nothing written),
//! a corrupted read-back (a byte flipped between fsync and read-back), a target too small.

use super::*;
use crate::appliance::sample;

/// A sample image file and a target file of `target_bytes` filled with 0x5A.
fn setup(target_bytes: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.img");
    std::fs::write(&image, sample::image(1).0).unwrap();
    let target = dir.path().join("target.raw");
    std::fs::write(&target, vec![0x5A; target_bytes]).unwrap();
    (dir, image, target)
}

fn run(image: &Path, to: &Path, hook: Option<&dyn Fn(&Path)>) -> Result<Flashed, Failure> {
    let mut never = |_: &str| panic!("a regular file is written without asking");
    let options = Options {
        yes: false,
        confirm: &mut never,
        after_sync: hook,
        show_progress: false,
    };
    flash(image, to, options)
}

fn refused(result: Result<Flashed, Failure>) -> String {
    match result {
        Err(Failure::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The target still holds only its 0x5A filler.
fn untouched(target: &Path, bytes: usize) {
    assert_eq!(
        std::fs::read(target).unwrap(),
        vec![0x5A; bytes],
        "a byte was written"
    );
}

#[test]
fn a_regular_file_is_written_and_verified() {
    let image_bytes = std::fs::read(setup(0).1).unwrap().len();
    let (_dir, image, target) = setup(image_bytes + 4096);
    let done = run(&image, &target, None).unwrap();
    let written = std::fs::read(&target).unwrap();
    let source = std::fs::read(&image).unwrap();
    assert_eq!(&written[..image_bytes], &source[..]);
    assert_eq!(
        &written[image_bytes..],
        &[0x5A; 4096],
        "bytes past the image are left alone"
    );
    assert_eq!(done.bytes, image_bytes as u64);
    assert_eq!(done.sha256, crate::appliance::sha256_hex(&source));
}

#[test]
fn a_corrupted_read_back_names_the_first_differing_offset() {
    let image_bytes = std::fs::read(setup(0).1).unwrap().len();
    let (_dir, image, target) = setup(image_bytes);
    let flip = |path: &Path| {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[3_000_123] ^= 0x01;
        bytes[3_000_200] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    };
    match run(&image, &target, Some(&flip)) {
        Err(Failure::Failed(why)) => {
            assert!(why.contains("first at byte 3000123"), "{why}");
        }
        other => panic!("expected a failed verification, got {other:?}"),
    }
}

#[test]
fn a_target_smaller_than_the_image_is_refused_untouched() {
    let image_bytes = std::fs::read(setup(0).1).unwrap().len();
    let (_dir, image, target) = setup(image_bytes - 512);
    let why = refused(run(&image, &target, None));
    assert!(why.contains("is smaller than the image"), "{why}");
    untouched(&target, image_bytes - 512);
}

#[test]
fn an_image_that_does_not_verify_is_refused_untouched() {
    let (_dir, image, target) = setup(8 << 20);
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[(2 << 20) + 100_000] ^= 0x01;
    std::fs::write(&image, bytes).unwrap();
    let why = refused(run(&image, &target, None));
    assert!(why.contains("does not verify"), "{why}");
    assert!(why.contains("region esp"), "{why}");
    untouched(&target, 8 << 20);
    std::fs::write(&image, b"not an image at all").unwrap();
    assert!(refused(run(&image, &target, None)).contains("does not verify"));
    untouched(&target, 8 << 20);
}

#[test]
fn targets_that_are_neither_block_devices_nor_regular_files_are_refused() {
    let (dir, image, _) = setup(0);
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    for (to, expected) in [
        (dir.path().to_path_buf(), "is a directory"),
        (PathBuf::from("/dev/null"), "is a character device"),
        (fifo, "is a FIFO"),
        (dir.path().join("absent.raw"), "does not exist"),
    ] {
        let why = refused(run(&image, &to, None));
        assert!(why.contains(expected), "{}: {why}", to.display());
    }
    assert!(
        !dir.path().join("absent.raw").exists(),
        "no file is created"
    );
}

#[test]
fn the_image_itself_is_not_a_target() {
    let (_dir, image, _) = setup(0);
    let before = std::fs::read(&image).unwrap();
    let why = refused(run(&image, &image, None));
    assert!(why.contains("is the image itself"), "{why}");
    assert_eq!(std::fs::read(&image).unwrap(), before);
}

#[test]
fn a_block_device_is_described_by_path_model_and_size() {
    // The confirmation question shows this description (the loop-device test asks it for real).
    let target = target::Target {
        path: "/dev/sdz".into(),
        kind: Kind::Block {
            dev: (8, 0),
            model: "ACME Flash 3000".into(),
        },
        bytes: 16 << 30,
    };
    assert_eq!(target.describe(), "/dev/sdz (ACME Flash 3000, 16.0 GiB)");
}
