//! What a guest's console line looks like on the wire: valid UTF-8 with every character a terminal
//! or log viewer could act on replaced by `?`: C1 controls (U+0080-U+009F, among them CSI and NEL),
//! the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the line
//! and paragraph separators (U+2028, U+2029); bytes that are not UTF-8 become `?` each. C0 controls
//! and DEL are already `?` in the line buffer. Replacing never makes a line longer.

use core::fmt;

/// Whether `c` must not reach the wire as it is.
pub const fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{a}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Displays a guest's line bytes with the replacements above.
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                let mut utf8 = [0; 4];
                f.write_str(if is_unsafe(c) {
                    "?"
                } else {
                    c.encode_utf8(&mut utf8)
                })?;
            }
            for _ in chunk.invalid() {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::{String, ToString};

    fn escaped(bytes: &[u8]) -> String {
        Escaped(bytes).to_string()
    }

    #[test]
    fn c1_controls_become_question_marks() {
        assert_eq!(escaped("a\u{85}b\u{9b}31mc".as_bytes()), "a?b?31mc");
        assert_eq!(
            escaped("\u{80}\u{9f}\u{a0}".as_bytes()),
            "??\u{a0}",
            "U+00A0 is printable"
        );
    }

    #[test]
    fn bidi_overrides_and_separators_become_question_marks() {
        let line = "x\u{202e}gnp.exe\u{2066}y\u{2069}\u{2028}z\u{202a}\u{202c}";
        assert_eq!(escaped(line.as_bytes()), "x?gnp.exe?y??z??");
        assert_eq!(
            escaped("\u{200f}é€😀".as_bytes()),
            "\u{200f}é€😀",
            "others pass"
        );
    }

    #[test]
    fn invalid_utf8_becomes_one_question_mark_a_byte() {
        assert_eq!(escaped(b"ok\xff\xfe!"), "ok??!");
        assert_eq!(escaped(b"\xe2\x80"), "??", "a character cut in two");
    }

    #[test]
    fn escaping_never_lengthens_a_line() {
        let inputs: [&[u8]; 4] = [
            "\u{85}\u{202e}\u{2028}".as_bytes(),
            b"\xff\xc2",
            "plain text".as_bytes(),
            b"\x1b[2J",
        ];
        for input in inputs {
            assert!(escaped(input).len() <= input.len(), "{input:?}");
        }
    }
}
