//! Splitting a guest's console bytes into whole lines so the hypervisor can print each one behind
//! the partition's name (`[alpha] hello`). Control characters are replaced so a guest cannot move the
//! cursor, clear the screen or start a line of its own on the shared serial port (`escape` does the
//! same for C1 controls and bidirectional overrides when the line is printed). `affordable` says
//! what the bytes will cost on the wire, prefix and newline included, before they are taken.

/// How many input bytes fit in a budget, and the wire bytes they cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub bytes: usize,
    pub cost_bytes: u64,
}

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

    /// How much of `input` fits in `budget_bytes` of wire bytes if each printed line costs
    /// `line_overhead_bytes` (its prefix and newline) besides its text: the byte that opens a line
    /// (or a new piece of a long one) pays the overhead, every other text byte one, `\n` and `\r`
    /// nothing (the newline is paid for in advance, empty lines are not printed).
    pub fn affordable(&self, input: &[u8], line_overhead_bytes: u64, budget_bytes: u64) -> Grant {
        let mut len = self.len;
        let mut cost_bytes = 0u64;
        for (taken, &byte) in input.iter().enumerate() {
            let byte_cost = match byte {
                b'\n' => 0,
                b'\r' => 0,
                _ if len == 0 || len == N => 1 + line_overhead_bytes,
                _ => 1,
            };
            if cost_bytes + byte_cost > budget_bytes {
                return Grant {
                    bytes: taken,
                    cost_bytes,
                };
            }
            cost_bytes += byte_cost;
            len = match byte {
                b'\n' => 0,
                b'\r' => len,
                _ if len == N => 1,
                _ => len + 1,
            };
        }
        Grant {
            bytes: input.len(),
            cost_bytes,
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

    /// Wire bytes of `lines` printed behind a prefix of `prefix` bytes (newline included).
    fn wire_bytes(lines: &[String], prefix: u64) -> u64 {
        lines.iter().map(|l| prefix + l.len() as u64 + 1).sum()
    }

    #[test]
    fn the_cost_is_what_goes_on_the_wire() {
        let prefix = 8; // "[alpha] "
        for input in [
            &b"x\n"[..],
            b"hello\nworld\n",
            b"\n\n\r\n",
            b"abcdefghij\n",
            b"a\rb\n",
        ] {
            let mut buffer = LineBuffer::<4>::new();
            let grant = buffer.affordable(input, prefix + 1, u64::MAX);
            assert_eq!(grant.bytes, input.len());
            let printed = lines(&mut buffer, input);
            assert_eq!(grant.cost_bytes, wire_bytes(&printed, prefix), "{input:?}");
        }
    }

    #[test]
    fn a_line_pays_for_its_prefix_and_newline_once() {
        let mut buffer = LineBuffer::<64>::new();
        assert_eq!(buffer.affordable(b"x\n", 9, 100).cost_bytes, 10);
        lines(&mut buffer, b"ab");
        assert_eq!(
            buffer.affordable(b"c\n", 9, 100).cost_bytes,
            1,
            "the open line's prefix and newline are paid already"
        );
    }

    #[test]
    fn the_grant_stops_at_the_budget() {
        let buffer = LineBuffer::<64>::new();
        let grant = buffer.affordable(b"x\nyz\n", 9, 12);
        assert_eq!(
            grant,
            Grant {
                bytes: 2,
                cost_bytes: 10
            },
            "y would need 10 more"
        );
        assert_eq!(
            buffer.affordable(b"x\n", 9, 9),
            Grant {
                bytes: 0,
                cost_bytes: 0
            }
        );
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
