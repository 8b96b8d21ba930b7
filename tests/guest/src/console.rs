//! The guest console: text goes to the hypervisor's console hypercall (which prefixes it with the
//! partition's name on COM1) in chunks of at most 256 bytes, retried while rate-limited.

use core::fmt::{self, Write};
use tessera_vmx::guest_abi::CONSOLE_WRITE_MAX_BYTES;

const CHUNK_BYTES: usize = CONSOLE_WRITE_MAX_BYTES as usize;
/// PAUSE iterations between two attempts while the hypervisor takes nothing (rate-limited).
const BACKOFF_SPINS: u32 = 2_000;

/// Sends all of `bytes` through `sink` (which takes a prefix of at most [`CHUNK_BYTES`] and says
/// how much it took), calling `wait` each time it takes nothing. Stops at the first error.
pub fn write_all<E>(
    mut bytes: &[u8],
    mut sink: impl FnMut(&[u8]) -> Result<usize, E>,
    mut wait: impl FnMut(),
) -> Result<(), E> {
    while !bytes.is_empty() {
        let chunk = &bytes[..bytes.len().min(CHUNK_BYTES)];
        match sink(chunk)? {
            0 => wait(),
            taken => bytes = &bytes[taken.min(chunk.len())..],
        }
    }
    Ok(())
}

/// Writes `bytes` to the console (dropped if the hypervisor refuses the buffer).
pub fn write_bytes(bytes: &[u8]) {
    let backoff = || {
        for _ in 0..BACKOFF_SPINS {
            core::hint::spin_loop();
        }
    };
    let _ = write_all(bytes, crate::hypercall::console_write, backoff);
}

/// Text formatted as it is: `{}` of a `&str` goes through `Formatter::pad` (width, precision and
/// fill), a kilobyte of code that a guest printing through `Text` only does not carry.
#[cfg(feature = "compact")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text<'a>(pub &'a str);

#[cfg(feature = "compact")]
impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A line being formatted: flushed whenever the buffer fills and at the end.
pub struct LineWriter {
    buffer: [u8; CHUNK_BYTES],
    used: usize,
}

impl LineWriter {
    pub const fn new() -> Self {
        LineWriter {
            buffer: [0; CHUNK_BYTES],
            used: 0,
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        write_bytes(&self.buffer[..self.used]);
        self.used = 0;
    }
}

impl Default for LineWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for LineWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.used == CHUNK_BYTES {
                self.flush();
            }
            self.buffer[self.used] = byte;
            self.used += 1;
        }
        Ok(())
    }
}

/// Formats `args` and a newline, and sends them (one hypercall for lines up to 255 bytes).
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut line = LineWriter::new();
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    line.flush();
}

/// Formats `args` and sends them.
pub fn print(args: fmt::Arguments<'_>) {
    let mut text = LineWriter::new();
    let _ = text.write_fmt(args);
    text.flush();
}

/// `print!` for guests: formats and writes to the console hypercall.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// `println!` for guests: one line per call (each vCPU's lines stay whole on COM1).
#[macro_export]
macro_rules! println {
    () => { $crate::console::print_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::console::print_line(format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn long_text_goes_in_chunks_of_at_most_256_bytes() {
        let text = [b'x'; 600];
        let mut chunks = Vec::new();
        let sink = |chunk: &[u8]| -> Result<usize, ()> {
            chunks.push(chunk.len());
            Ok(chunk.len())
        };
        write_all(&text, sink, || panic!("never rate-limited")).unwrap();
        assert_eq!(chunks, [256, 256, 88]);
    }

    #[test]
    fn rate_limited_writes_are_retried_until_everything_is_taken() {
        let text = b"hello, world\n";
        let mut out = Vec::new();
        let mut offers = [3usize, 0, 0, 5, 0, 100].into_iter();
        let mut waits = 0;
        let sink = |chunk: &[u8]| -> Result<usize, ()> {
            let taken = offers.next().unwrap().min(chunk.len());
            out.extend_from_slice(&chunk[..taken]);
            Ok(taken)
        };
        write_all(text, sink, || waits += 1).unwrap();
        assert_eq!(out, text);
        assert_eq!(waits, 3);
    }

    #[cfg(feature = "compact")]
    #[test]
    fn text_is_written_as_it_is() {
        assert_eq!(std::format!("[{}]", Text("vcpu 0")), "[vcpu 0]");
        assert_eq!(std::format!("[{:>8}]", Text("abc")), "[abc]", "no padding");
    }

    #[test]
    fn an_error_stops_the_write() {
        let mut calls = 0;
        let sink = |_: &[u8]| -> Result<usize, &str> {
            calls += 1;
            Err("outside memory")
        };
        assert_eq!(write_all(b"abc", sink, || {}), Err("outside memory"));
        assert_eq!(calls, 1);
    }
}
