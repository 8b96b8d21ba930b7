//! TOML syntax errors, one per real cause: an unclosed array, inline table or string is reported
//! once at its opening character (the parser's follow-on errors inside it are dropped), and of the
//! other errors only the first of each line is kept. Each says what was found and what is accepted.

use crate::diag::{Diagnostic, SourceFile};
use std::ops::Range;

/// What a plain TOML line may look like, for errors whose parser message names nothing.
const TOML_LINES: &str =
    "TOML: `key = value` lines, `[table]` and `[[array]]` headers, `#` comments";

/// Located diagnostics for the parser's `errors` of `file`, in file order.
pub fn diagnostics(file: &SourceFile, errors: &[toml::de::Error]) -> Vec<Diagnostic> {
    let mut errors: Vec<(Range<usize>, &str)> = errors
        .iter()
        .map(|e| (e.span().unwrap_or(0..0), e.message()))
        .collect();
    errors.sort_by_key(|(span, _)| (span.start, span.end));
    let scan = scan(&file.text);
    let mut out = Vec::new();
    if let Some(open) = scan.unclosed {
        errors.retain(|(span, _)| span.start < open.at);
        out.push(unclosed(file, &open));
    }
    for open in &scan.unterminated_strings {
        let line = line_of(&file.text, open.at);
        match open.kind {
            Kind::String(d) if d.len() == 3 => errors.retain(|(span, _)| span.start < open.at),
            _ => errors.retain(|(span, _)| line_of(&file.text, span.start) != line),
        }
        out.push(unclosed(file, open));
    }
    let mut last_line = None;
    for (span, message) in errors {
        let line = line_of(&file.text, span.start);
        if last_line != Some(line) {
            out.push(described(file, span, message));
        }
        last_line = Some(line);
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
}

/// A bracket, brace or quote that is never closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Opening {
    at: usize,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Array,
    InlineTable,
    /// `"`, `'`, `"""` or `'''`.
    String(&'static str),
}

/// What a scan of the text found open.
#[derive(Debug, Default, PartialEq, Eq)]
struct Scan {
    /// The outermost array or inline table still open at the end of the file.
    unclosed: Option<Opening>,
    /// One-line strings cut by the end of their line (and a multi-line one cut by the end of
    /// the file), in file order.
    unterminated_strings: Vec<Opening>,
}

/// Follows brackets, braces, strings and comments through `text` as TOML reads them.
fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut out = Scan::default();
    let mut stack: Vec<Opening> = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if line_start && stack.is_empty() && c == b'[' {
            i = end_of_line(bytes, i); // a table header
            continue;
        }
        if !c.is_ascii_whitespace() {
            line_start = false;
        }
        match c {
            b'\n' => line_start = true,
            b'#' => {
                i = end_of_line(bytes, i);
                continue;
            }
            b'"' | b'\'' => {
                let (end, open) = string(text, i);
                out.unterminated_strings.extend(open);
                i = end;
                continue;
            }
            b'[' => stack.push(Opening {
                at: i,
                kind: Kind::Array,
            }),
            b'{' => stack.push(Opening {
                at: i,
                kind: Kind::InlineTable,
            }),
            b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    out.unclosed = stack.first().copied();
    out
}

fn end_of_line(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| from + n)
}

/// The end of the string starting at `at`, and its opening if it is never closed.
fn string(text: &str, at: usize) -> (usize, Option<Opening>) {
    let rest = &text.as_bytes()[at..];
    let delimiter: &'static str = match rest {
        r if r.starts_with(b"\"\"\"") => "\"\"\"",
        r if r.starts_with(b"'''") => "'''",
        r if r.starts_with(b"\"") => "\"",
        _ => "'",
    };
    let body = at + delimiter.len();
    let open = Opening {
        at,
        kind: Kind::String(delimiter),
    };
    let basic = delimiter.starts_with('"');
    let multi_line = delimiter.len() == 3;
    let bytes = text.as_bytes();
    let mut i = body;
    while i < bytes.len() {
        if basic && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if !multi_line && bytes[i] == b'\n' {
            return (i, Some(open));
        }
        if bytes[i..].starts_with(delimiter.as_bytes()) {
            return (i + delimiter.len(), None);
        }
        i += 1;
    }
    (bytes.len(), Some(open))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// "unclosed array" (or inline table, or string) at its opening character.
fn unclosed(file: &SourceFile, open: &Opening) -> Diagnostic {
    let line_end = end_of_line(file.text.as_bytes(), open.at);
    let found = shown(&file.text[open.at..line_end]);
    let (what, missing, accepted, hint) = match open.kind {
        Kind::Array => (
            "array",
            "no `]` closes it",
            "an array closed by `]`, e.g. [\"cpu0\", \"cpu1\"]".to_string(),
            "the parser read everything after it as part of the array, so nothing after it was checked",
        ),
        Kind::InlineTable => (
            "inline table",
            "no `}` closes it",
            "an inline table closed by `}`, e.g. { first = 0, last = 1 }".to_string(),
            "the parser read everything after it as part of the table, so nothing after it was checked",
        ),
        Kind::String(d) if d.len() == 3 => (
            "multi-line string",
            "no closing quotes before the end of the file",
            format!("a multi-line string closed by {d}"),
            "the parser read the rest of the file as part of the string",
        ),
        Kind::String(d) => (
            "string",
            "its line ends before a closing quote",
            format!("a string closed on its own line: {d}...{d}"),
            "a one-line string ends on its line; a multi-line string starts with three quotes",
        ),
    };
    file.error(
        open.at..open.at,
        format!("invalid TOML: unclosed {what} (opened here)"),
    )
    .found(format!("`{found}`: {missing}"))
    .accepted(accepted)
    .hint(hint)
}

/// Any other parser error: its description, the text at it, and what the parser expected there.
fn described(file: &SourceFile, span: Range<usize>, message: &str) -> Diagnostic {
    let message = message.trim().replace('\n', "; ");
    let (cause, expected) = match message.split_once(", expected ") {
        Some((cause, expected)) => (cause.to_string(), Some(expected.to_string())),
        None => (message.clone(), None),
    };
    let start = span.start.min(file.text.len());
    let line_end = end_of_line(file.text.as_bytes(), start);
    let end = if span.is_empty() {
        line_end
    } else {
        span.end.min(line_end)
    };
    let at = file.text.get(start..end).unwrap_or("");
    let found = match shown(at) {
        t if t.is_empty() && start >= file.text.trim_end().len() => "the end of the file".into(),
        t if t.is_empty() => "the end of the line".into(),
        t => format!("`{t}`"),
    };
    let accepted = match (cause.as_str(), expected) {
        ("duplicate key", _) => "each key once in a table".to_string(),
        (_, Some(expected)) => format!("{expected} here"),
        (_, None) => TOML_LINES.to_string(),
    };
    file.error(span, format!("invalid TOML: {cause}"))
        .found(found)
        .accepted(accepted)
}

/// `text` on one line, at most 60 characters.
fn shown(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_the_outermost_unclosed_array_past_table_headers() {
        let s = scan("a = [1, [2]\nb = 3\n[x]\nc = 4\n");
        assert_eq!(
            s.unclosed,
            Some(Opening {
                at: 4,
                kind: Kind::Array
            })
        );
        assert_eq!(
            scan("[x]\na = [1, 2]\n[[y]]\nb = { c = 1 }\n"),
            Scan::default()
        );
    }

    #[test]
    fn scan_ignores_brackets_in_strings_and_comments() {
        assert_eq!(scan("a = \"[\" # [\nb = '{'\n"), Scan::default());
        assert_eq!(scan("a = \"\\\"[\"\n"), Scan::default());
        assert_eq!(scan("a = \"\"\"\n[\n\"\"\"\n"), Scan::default());
    }

    #[test]
    fn scan_finds_strings_cut_by_their_line() {
        let s = scan("a = \"abc\nb = 'x\nc = \"ok\"\n");
        let at: Vec<usize> = s.unterminated_strings.iter().map(|o| o.at).collect();
        assert_eq!(at, [4, 13]);
        assert_eq!(s.unclosed, None);
    }
}
