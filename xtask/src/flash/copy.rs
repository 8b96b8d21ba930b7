//! Writing an image to an open target with a progress bar, and reading it back: every short or
//! failed write is an error naming how many bytes reached the target, and a read-back that differs
//! names the first differing offset.

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// Bytes written or compared per step.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A bar over `bytes` on standard error (hidden when it is not a terminal).
pub fn progress(bytes: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    let style = ProgressStyle::with_template(
        "{msg:8} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .expect("constant template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Writes all of `image` to `out`, a chunk at a time. A write that stores nothing (a full or
/// shrinking target) or fails is an error saying how far the image got.
pub fn write_all(out: &mut impl Write, image: &[u8], bar: &ProgressBar) -> Result<(), String> {
    let mut written = 0usize;
    while written < image.len() {
        let end = (written + CHUNK_BYTES).min(image.len());
        match out.write(&image[written..end]) {
            Ok(0) => {
                return Err(format!(
                    "short write: the target took {written} of {} bytes and accepts no more",
                    image.len()
                ))
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(format!(
                    "write failed after {written} of {} bytes: {e}",
                    image.len()
                ))
            }
        }
        bar.set_position(written as u64);
    }
    out.flush()
        .map_err(|e| format!("flush failed after writing {written} bytes: {e}"))
}

/// Reads `image.len()` bytes back from `input` into `buffer`-sized steps and compares them with
/// `image`; returns the SHA-256 of what was read, or where it first differs.
pub fn read_back(
    input: &mut impl Read,
    image: &[u8],
    buffer: &mut [u8],
    bar: &ProgressBar,
) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut done = 0usize;
    while done < image.len() {
        let want = buffer.len().min(image.len() - done);
        let got = read_some(input, &mut buffer[..want])
            .map_err(|e| format!("read-back failed at byte {done}: {e}"))?;
        if got == 0 {
            return Err(format!(
                "read-back ended at byte {done} of {}: the target is shorter than the image",
                image.len()
            ));
        }
        if let Some(i) = (0..got).find(|&i| buffer[i] != image[done + i]) {
            return Err(format!(
                "read-back differs from the image first at byte {} (offset {:#x}): wrote {:#04x}, read {:#04x}",
                done + i,
                done + i,
                image[done + i],
                buffer[i]
            ));
        }
        hasher.update(&buffer[..got]);
        done += got;
        bar.set_position(done as u64);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn read_some(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buffer) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that stores `room` bytes, then takes no more (or fails, with `fail`).
    struct Short {
        stored: Vec<u8>,
        room: usize,
        fail: bool,
    }

    impl Write for Short {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let n = bytes.len().min(self.room - self.stored.len());
            if n == 0 && self.fail {
                return Err(std::io::Error::other("no space left on device"));
            }
            self.stored.extend_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn image() -> Vec<u8> {
        (0..3 * CHUNK_BYTES + 100)
            .map(|i| (i % 251) as u8)
            .collect()
    }

    #[test]
    fn a_short_or_failed_write_says_how_far_it_got() {
        let image = image();
        for fail in [false, true] {
            let mut out = Short {
                stored: Vec::new(),
                room: CHUNK_BYTES + 5,
                fail,
            };
            let error = write_all(&mut out, &image, &ProgressBar::hidden()).unwrap_err();
            let expected = format!("{} of {} bytes", CHUNK_BYTES + 5, image.len());
            assert!(error.contains(&expected), "{error}");
            let prefix = if fail { "write failed" } else { "short write" };
            assert!(error.starts_with(prefix), "{error}");
        }
    }

    /// A writer interrupted by a signal once per call before it stores anything.
    struct Interrupted {
        stored: Vec<u8>,
        interrupt_next: bool,
    }

    impl Write for Interrupted {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.interrupt_next = !self.interrupt_next;
            if !self.interrupt_next {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            self.stored.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_interrupted_by_a_signal_is_retried_not_lost() {
        let image = image();
        let mut out = Interrupted {
            stored: Vec::new(),
            interrupt_next: true,
        };
        write_all(&mut out, &image, &ProgressBar::hidden()).unwrap();
        assert!(out.stored == image);
    }

    #[test]
    fn a_whole_write_reads_back_with_its_digest() {
        let image = image();
        let mut out = Vec::new();
        write_all(&mut out, &image, &ProgressBar::hidden()).unwrap();
        let mut buffer = vec![0u8; 4096];
        let digest = read_back(
            &mut out.as_slice(),
            &image,
            &mut buffer,
            &ProgressBar::hidden(),
        );
        assert_eq!(digest.unwrap(), format!("{:x}", Sha256::digest(&image)));
    }

    #[test]
    fn the_first_differing_byte_and_a_short_read_back_are_named() {
        let image = image();
        let mut copy = image.clone();
        copy[2 * CHUNK_BYTES + 7] ^= 0x10;
        copy[2 * CHUNK_BYTES + 9] ^= 0x10;
        let mut buffer = vec![0u8; 4096];
        let bar = ProgressBar::hidden();
        let error = read_back(&mut copy.as_slice(), &image, &mut buffer, &bar).unwrap_err();
        assert!(
            error.contains(&format!("first at byte {}", 2 * CHUNK_BYTES + 7)),
            "{error}"
        );
        let error = read_back(&mut &image[..100], &image, &mut buffer, &bar).unwrap_err();
        assert!(error.contains("ended at byte 100"), "{error}");
    }
}
