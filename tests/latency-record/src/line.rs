//! Building one record line without allocation: `TLR1 v=<vcpu> q=<seq> <kind>`, then
//! ` key=value` fields, then ` *<crc32 as 8 hex digits>` over everything before the ` *`.

use core::fmt::{self, Write};

/// Longest record line (the hypervisor prints console lines of up to 160 bytes whole).
pub const LINE_MAX_BYTES: usize = 150;
/// Bytes of the ` *xxxxxxxx` suffix.
const SUFFIX_BYTES: usize = 10;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (IEEE) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// A record line being built; fields that do not fit are refused, never cut.
pub struct RecordLine {
    bytes: [u8; LINE_MAX_BYTES],
    len: usize,
}

/// A field did not fit in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl RecordLine {
    /// A line of `kind` (one letter) from vCPU `vcpu`, sequence number `seq` of its stream.
    pub fn new(vcpu: u32, seq: u32, kind: char) -> RecordLine {
        let mut line = RecordLine {
            bytes: [0; LINE_MAX_BYTES],
            len: 0,
        };
        let _ = write!(line, "{} v={vcpu} q={seq} {kind}", crate::TAG);
        line
    }

    /// Bytes still free for fields (the checksum's room kept aside).
    pub fn room(&self) -> usize {
        LINE_MAX_BYTES - SUFFIX_BYTES - self.len
    }

    /// Appends ` key=value`, or nothing and `Err(Full)` if it does not fit.
    pub fn field(&mut self, key: &str, value: impl fmt::Display) -> Result<(), Full> {
        let mark = self.len;
        if write!(self, " {key}={value}").is_err() {
            self.len = mark;
            return Err(Full);
        }
        Ok(())
    }

    /// Appends ` key=` and `text` with every byte outside `!`..=`~` and `%`, `*`, `=` written
    /// as `%XX` (a CPU brand string has spaces).
    pub fn text_field(&mut self, key: &str, text: &str) -> Result<(), Full> {
        self.field(key, Escaped(text))
    }

    /// The finished line (with its checksum; no newline).
    pub fn finish(&mut self) -> &str {
        let crc = crc32(&self.bytes[..self.len]);
        let mut suffix = [0u8; SUFFIX_BYTES];
        let mut at = 0;
        for byte in *b" *" {
            suffix[at] = byte;
            at += 1;
        }
        for shift in (0..8).rev() {
            suffix[at] = b"0123456789abcdef"[((crc >> (shift * 4)) & 0xF) as usize];
            at += 1;
        }
        let end = self.len + SUFFIX_BYTES;
        self.bytes[self.len..end].copy_from_slice(&suffix);
        core::str::from_utf8(&self.bytes[..end]).unwrap_or("")
    }
}

impl Write for RecordLine {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        if end > LINE_MAX_BYTES - SUFFIX_BYTES {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Text escaped for a field value.
struct Escaped<'a>(&'a str);

/// Whether `byte` stands for itself in a field value.
pub(crate) const fn plain(byte: u8) -> bool {
    matches!(byte, b'!'..=b'~') && !matches!(byte, b'%' | b'*' | b'=')
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0.as_bytes() {
            if plain(byte) {
                f.write_char(char::from(byte))?;
            } else {
                write!(f, "%{byte:02X}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_ends_with_the_crc_of_what_precedes_it() {
        let mut line = RecordLine::new(1, 7, 'B');
        line.field("p", 3).unwrap();
        line.field("x", "32:20").unwrap();
        let text = line.finish();
        let (body, crc) = text.split_once(" *").unwrap();
        assert_eq!(body, "TLR1 v=1 q=7 B p=3 x=32:20");
        assert_eq!(crc, format!("{:08x}", crc32(body.as_bytes())));
    }

    #[test]
    fn fields_that_do_not_fit_are_refused_whole() {
        let mut line = RecordLine::new(0, 0, 'D');
        let mut added = 0;
        while line.field("v", 123_456_789u64).is_ok() {
            added += 1;
        }
        assert!(added > 5);
        let text = line.finish().to_string();
        assert!(text.len() <= LINE_MAX_BYTES, "{}", text.len());
        assert!(text.contains(" v=123456789 *"), "{text}");
    }

    #[test]
    fn text_is_escaped() {
        let mut line = RecordLine::new(0, 0, 'S');
        line.text_field("cpu", "Intel(R) Xeon 50%*=").unwrap();
        assert!(line
            .finish()
            .contains(" cpu=Intel(R)%20Xeon%2050%25%2A%3D *"));
    }
}
