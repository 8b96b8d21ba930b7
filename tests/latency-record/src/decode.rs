//! Reading one console line as a record (host side): the partition prefix the hypervisor adds
//! (`[alpha] `), the tag and version, the checksum, then the fields. Lines that are not records
//! give `Ok(None)`; a line that starts like a record but is not a good one is an error that says
//! what is wrong with it.

use crate::line::plain;
use std::fmt;

/// One record line, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The partition name from the hypervisor's `[name] ` prefix (`None` without one).
    pub partition: Option<String>,
    pub vcpu: u32,
    pub seq: u32,
    pub kind: char,
    pub fields: Vec<(String, String)>,
}

/// What is wrong with a line that looks like a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineError {
    /// A `TLR<n>` tag of another format version.
    UnsupportedVersion(String),
    /// No ` *<8 hex digits>` at the end: the line was cut (or never finished).
    NoChecksum,
    Checksum {
        stored: String,
        computed: String,
    },
    /// The checksum matched but the text does not follow the format.
    Malformed(String),
    /// A field the record needs is absent or not what it should be.
    Field {
        key: String,
        why: String,
    },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::UnsupportedVersion(tag) => write!(
                f,
                "record tag `{tag}` is another format version (this tool reads `{}`)",
                crate::TAG
            ),
            LineError::NoChecksum => {
                f.write_str("record has no ` *<crc32>` at its end (line cut short)")
            }
            LineError::Checksum { stored, computed } => write!(
                f,
                "record checksum mismatch: the line says {stored}, its text gives {computed} (corrupted)"
            ),
            LineError::Malformed(why) => write!(f, "malformed record: {why}"),
            LineError::Field { key, why } => write!(f, "record field `{key}`: {why}"),
        }
    }
}

/// Reads `line`: `Ok(None)` if it is not a record at all.
pub fn parse_line(line: &str) -> Result<Option<Record>, LineError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (partition, rest) = split_prefix(line);
    if !rest.starts_with(crate::TAG_FAMILY) {
        return Ok(None);
    }
    let tag = rest.split(' ').next().unwrap_or("");
    if tag != crate::TAG {
        return Err(LineError::UnsupportedVersion(tag.to_string()));
    }
    let body = checked_body(rest)?;
    let mut words = body.split(' ').skip(1);
    let vcpu = header_number(words.next(), "v")?;
    let seq = header_number(words.next(), "q")?;
    let kind = match words.next() {
        Some(k) if k.len() == 1 => k.chars().next().unwrap_or('?'),
        other => {
            return Err(LineError::Malformed(format!(
                "kind `{}`",
                other.unwrap_or("")
            )))
        }
    };
    let mut fields = Vec::new();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| LineError::Malformed(format!("`{word}` is not key=value")))?;
        fields.push((key.to_string(), value.to_string()));
    }
    Ok(Some(Record {
        partition: partition.map(str::to_string),
        vcpu,
        seq,
        kind,
        fields,
    }))
}

/// `[name] rest` -> (Some(name), rest); anything else -> (None, line).
fn split_prefix(line: &str) -> (Option<&str>, &str) {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .map_or((None, line), |(name, rest)| (Some(name), rest))
}

/// The text covered by the checksum, once it matches.
fn checked_body(rest: &str) -> Result<&str, LineError> {
    let (body, stored) = rest.rsplit_once(" *").ok_or(LineError::NoChecksum)?;
    if stored.len() != 8 || !stored.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineError::NoChecksum);
    }
    let computed = format!("{:08x}", crate::crc32(body.as_bytes()));
    if !stored.eq_ignore_ascii_case(&computed) {
        return Err(LineError::Checksum {
            stored: stored.to_string(),
            computed,
        });
    }
    Ok(body)
}

fn header_number(word: Option<&str>, key: &str) -> Result<u32, LineError> {
    let value = word
        .and_then(|w| w.strip_prefix(key))
        .and_then(|w| w.strip_prefix('='))
        .ok_or_else(|| LineError::Malformed(format!("expected `{key}=<n>` after the tag")))?;
    value
        .parse()
        .map_err(|_| LineError::Malformed(format!("`{key}={value}` is not a number")))
}

impl Record {
    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Result<&str, LineError> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| field_error(key, "missing"))
    }

    /// `key` as an unsigned number.
    pub fn number(&self, key: &str) -> Result<u64, LineError> {
        let value = self.get(key)?;
        value
            .parse()
            .map_err(|_| field_error(key, &format!("`{value}` is not a number")))
    }

    /// `key` as text, `%XX` escapes undone.
    pub fn text(&self, key: &str) -> Result<String, LineError> {
        unescape(self.get(key)?).ok_or_else(|| field_error(key, "bad %XX escape"))
    }

    /// `key` as `n,n,n` (empty for `-`).
    pub fn numbers(&self, key: &str) -> Result<Vec<u64>, LineError> {
        let value = self.get(key)?;
        if value == "-" {
            return Ok(Vec::new());
        }
        value
            .split(',')
            .map(|n| {
                n.parse()
                    .map_err(|_| field_error(key, &format!("`{n}` is not a number")))
            })
            .collect()
    }

    /// `key` as `reason:count,...` exit counts (empty for `-`).
    pub fn exit_counts(&self, key: &str) -> Result<Vec<(u32, u64)>, LineError> {
        let value = self.get(key)?;
        if value == "-" {
            return Ok(Vec::new());
        }
        value
            .split(',')
            .map(|pair| {
                let parsed = pair
                    .split_once(':')
                    .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)));
                parsed.ok_or_else(|| field_error(key, &format!("`{pair}` is not reason:count")))
            })
            .collect()
    }
}

fn field_error(key: &str, why: &str) -> LineError {
    LineError::Field {
        key: key.to_string(),
        why: why.to_string(),
    }
}

/// Undoes [`crate::RecordLine::text_field`]'s escaping.
pub fn unescape(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = char::from(bytes.next()?).to_digit(16)?;
            let low = char::from(bytes.next()?).to_digit(16)?;
            out.push((high * 16 + low) as u8);
        } else if plain(byte) {
            out.push(byte);
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecordLine;

    fn line(kind: char, fields: &[(&str, &str)]) -> String {
        let mut record = RecordLine::new(1, 4, kind);
        for (k, v) in fields {
            record.field(k, v).unwrap();
        }
        format!("[alpha] {}", record.finish())
    }

    #[test]
    fn a_written_record_reads_back() {
        let text = line('B', &[("p", "2"), ("x", "32:20,18:1"), ("v", "5,6")]);
        let record = parse_line(&text).unwrap().unwrap();
        assert_eq!(record.partition.as_deref(), Some("alpha"));
        assert_eq!((record.vcpu, record.seq, record.kind), (1, 4, 'B'));
        assert_eq!(record.number("p"), Ok(2));
        assert_eq!(record.exit_counts("x"), Ok(vec![(32, 20), (18, 1)]));
        assert_eq!(record.numbers("v"), Ok(vec![5, 6]));
    }

    #[test]
    fn other_lines_are_not_records() {
        assert_eq!(parse_line("[alpha] vcpu 0: pass"), Ok(None));
        assert_eq!(parse_line("TESSERA-RESULT: pass"), Ok(None));
        assert_eq!(parse_line("[cpu0 INFO ] heap: used 1"), Ok(None));
    }

    #[test]
    fn damaged_records_say_what_is_wrong() {
        let good = line('B', &[("p", "2")]);
        let cut = &good[..good.len() - 12];
        assert_eq!(parse_line(cut), Err(LineError::NoChecksum));
        let flipped = good.replace("p=2", "p=3");
        assert!(matches!(
            parse_line(&flipped),
            Err(LineError::Checksum { .. })
        ));
        let other = good.replace("TLR1", "TLR2");
        assert_eq!(
            parse_line(&other),
            Err(LineError::UnsupportedVersion("TLR2".into()))
        );
        let record = parse_line(&good).unwrap().unwrap();
        let missing = record.number("n").unwrap_err().to_string();
        assert_eq!(missing, "record field `n`: missing");
    }

    #[test]
    fn escaped_text_reads_back() {
        let mut record = RecordLine::new(0, 0, 'S');
        record.text_field("cpu", "Intel(R) Xeon(R) 8480+").unwrap();
        let parsed = parse_line(record.finish()).unwrap().unwrap();
        assert_eq!(parsed.text("cpu").unwrap(), "Intel(R) Xeon(R) 8480+");
        assert_eq!(unescape("%4"), None);
    }
}
