//! Diagnostics: `error: FILE:LINE:COL: message` with what was found, what is accepted and a hint.

use std::fmt;

/// A manifest file's path (as shown in messages) and text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

impl SourceFile {
    /// 1-based line and column (in characters) of byte `offset`.
    pub fn location(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary_compat(offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// Starts a diagnostic at the start of byte range `span` of this file.
    pub fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.location(span.start);
        Diagnostic {
            file: self.path.clone(),
            line,
            col,
            message: message.into(),
            found: None,
            accepted: None,
            hint: None,
        }
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, offset: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut offset: usize) -> usize {
        while !self.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// One error in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub found: Option<String>,
    pub accepted: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// Adds what was found.
    pub fn found(mut self, found: impl fmt::Display) -> Self {
        self.found = Some(found.to_string());
        self
    }

    /// Adds what would be accepted.
    pub fn accepted(mut self, accepted: impl fmt::Display) -> Self {
        self.accepted = Some(accepted.to_string());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl fmt::Display) -> Self {
        self.hint = Some(hint.to_string());
        self
    }

    /// Adds a hint when there is one.
    pub fn maybe_hint(self, hint: Option<String>) -> Self {
        match hint {
            Some(h) => self.hint(h),
            None => self,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        for (label, text) in [
            ("found", &self.found),
            ("accepted", &self.accepted),
            ("hint", &self.hint),
        ] {
            if let Some(text) = text {
                write!(f, "\n  {label}: {text}")?;
            }
        }
        Ok(())
    }
}

/// Every error found in a manifest, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Diagnostic>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        write!(f, "{} error(s) in the manifest", self.0.len())
    }
}

impl std::error::Error for Errors {}

/// "did you mean `x`?" for the closest candidate, if one is close enough.
pub fn did_you_mean<'c>(
    found: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    let limit = (found.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(found, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// `a, b, c` with backquotes, for "accepted" lines.
pub fn list<'c>(items: impl IntoIterator<Item = &'c str>) -> String {
    let all: Vec<String> = items.into_iter().map(|i| format!("`{i}`")).collect();
    if all.is_empty() {
        "(none)".to_string()
    } else {
        all.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let file = SourceFile {
            path: "f.toml".into(),
            text: "a = 1\nbé = 2\n".into(),
        };
        assert_eq!(file.location(0), (1, 1));
        assert_eq!(file.location(6), (2, 1));
        assert_eq!(file.location(10), (2, 4));
    }

    #[test]
    fn renders_all_parts() {
        let file = SourceFile {
            path: "f.toml".into(),
            text: "x".into(),
        };
        let d = file.error(0..1, "bad").found("1").accepted("2").hint("3");
        assert_eq!(
            d.to_string(),
            "error: f.toml:1:1: bad\n  found: 1\n  accepted: 2\n  hint: 3"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("cpu9", ["cpu0", "alpha"]).as_deref(),
            Some("did you mean `cpu0`?")
        );
        assert_eq!(did_you_mean("zzzzzz", ["cpu0"]), None);
    }
}
