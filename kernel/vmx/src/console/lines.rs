//! Splitting a guest's console bytes into whole lines so the hypervisor can print each one behind
//! the partition's name (`[alpha] hello`). Control characters are replaced so a guest cannot move the
//! cursor, clear the screen or start a line of its own on the shared serial port.

/// Buffers at most `N` bytes of the current line.
#[derive(Clone, Debug)]
pub struct LineBuffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for LineBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> LineBuffer<N> {
    pub const fn new() -> Self {
        LineBuffer {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Adds `input`; calls `emit` with each completed line (without its newline). A line longer than
    /// `N` bytes is emitted in `N`-byte pieces. `\r` is dropped; other control bytes become `?`.
    pub fn push(&mut self, input: &[u8], mut emit: impl FnMut(&[u8])) {
        for &byte in input {
            match byte {
                b'\n' => self.flush(&mut emit),
                b'\r' => {}
                _ => {
                    if self.len == N {
                        self.flush(&mut emit);
                    }
                    self.bytes[self.len] = sanitize(byte);
                    self.len += 1;
                }
            }
        }
    }

    /// Emits the partial line, if any (at shutdown or when a vCPU stops).
    pub fn flush(&mut self, emit: &mut impl FnMut(&[u8])) {
        if self.len > 0 {
            emit(&self.bytes[..self.len]);
        }
        self.len = 0;
    }

    /// Bytes waiting for their newline.
    pub const fn pending_bytes(&self) -> usize {
        self.len
    }
}

/// Printable bytes, tab and UTF-8 bytes pass; other control bytes and DEL become `?`.
const fn sanitize(byte: u8) -> u8 {
    match byte {
        b'\t' | 0x20..=0x7E | 0x80..=0xFF => byte,
        _ => b'?',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn lines<const N: usize>(buffer: &mut LineBuffer<N>, input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        buffer.push(input, |line| {
            out.push(String::from_utf8_lossy(line).into_owned())
        });
        out
    }

    #[test]
    fn splits_on_newline_and_keeps_the_rest() {
        let mut buffer = LineBuffer::<64>::new();
        assert_eq!(lines(&mut buffer, b"hello\r\nwor"), ["hello"]);
        assert_eq!(buffer.pending_bytes(), 3);
        assert_eq!(lines(&mut buffer, b"ld\n"), ["world"]);
        assert_eq!(
            lines(&mut buffer, b"\n"),
            Vec::<String>::new(),
            "empty lines are not emitted"
        );
    }

    #[test]
    fn long_lines_come_out_in_pieces() {
        let mut buffer = LineBuffer::<4>::new();
        assert_eq!(lines(&mut buffer, b"abcdefghij\n"), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn control_bytes_are_neutralized() {
        let mut buffer = LineBuffer::<64>::new();
        assert_eq!(lines(&mut buffer, b"\x1b[2Jx\x07\ty\x7f\n"), ["?[2Jx?\ty?"]);
    }

    #[test]
    fn flush_emits_a_partial_line() {
        let mut buffer = LineBuffer::<8>::new();
        lines(&mut buffer, b"tail");
        let mut out = Vec::new();
        buffer.flush(&mut |line: &[u8]| out.push(line.to_vec()));
        assert_eq!(out, [b"tail".to_vec()]);
        assert_eq!(buffer.pending_bytes(), 0);
    }
}
