//! Byte quantities and addresses in manifests: an integer (`0x200000`) or a string with a unit
//! (`"2 MiB"`, `"64MiB"`, `"1 GiB"`, `"4 KiB"`, `"0x1000"`).

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// A number of bytes (or a byte address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

const UNITS: [(&str, u64); 4] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// What a byte quantity may look like (for error messages).
pub const ACCEPTED: &str =
    "an integer (e.g. 0x200000) or a string like \"64 MiB\" (units KiB, MiB, GiB, TiB)";

impl Bytes {
    /// Parses `"64 MiB"`, `"0x1000"` or `"4096"`.
    pub fn parse(text: &str) -> Option<Bytes> {
        let text = text.trim();
        let (number, scale) = UNITS
            .iter()
            .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n.trim_end(), *scale)))
            .unwrap_or((text, 1));
        let number = number.replace('_', "");
        let value = match number
            .strip_prefix("0x")
            .or_else(|| number.strip_prefix("0X"))
        {
            Some(hex) => u64::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u64>().ok()?,
        };
        value.checked_mul(scale).map(Bytes)
    }
}

impl fmt::Display for Bytes {
    /// `64 MiB` when the value is a whole number of a unit, else `188720 bytes (184.3 KiB)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = UNITS
            .iter()
            .rev()
            .find(|(_, scale)| self.0 >= *scale && self.0.is_multiple_of(*scale));
        let near = UNITS.iter().rev().find(|(_, scale)| self.0 >= *scale);
        match (whole, near) {
            (Some((unit, scale)), _) => write!(f, "{} {unit}", self.0 / scale),
            (None, Some((unit, scale))) => write!(
                f,
                "{} bytes ({:.1} {unit})",
                self.0,
                self.0 as f64 / *scale as f64
            ),
            (None, None) => write!(f, "{} bytes", self.0),
        }
    }
}

struct BytesVisitor;

impl Visitor<'_> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACCEPTED)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
        u64::try_from(v)
            .map(Bytes)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
        Ok(Bytes(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        Bytes::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        d.deserialize_any(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_hex() {
        assert_eq!(Bytes::parse("64 MiB"), Some(Bytes(64 << 20)));
        assert_eq!(Bytes::parse("2MiB"), Some(Bytes(2 << 20)));
        assert_eq!(Bytes::parse("0x3F8"), Some(Bytes(0x3F8)));
        assert_eq!(Bytes::parse("0x1_0000"), Some(Bytes(0x10000)));
        assert_eq!(Bytes::parse("12 MB"), None);
        assert_eq!(Bytes::parse("99999999999 TiB"), None);
    }

    #[test]
    fn displays_whole_units() {
        assert_eq!(Bytes(64 << 20).to_string(), "64 MiB");
        assert_eq!(Bytes(3 << 10).to_string(), "3 KiB");
        assert_eq!(Bytes(0x1001).to_string(), "4097 bytes (4.0 KiB)");
        assert_eq!(Bytes(16).to_string(), "16 bytes");
    }
}
