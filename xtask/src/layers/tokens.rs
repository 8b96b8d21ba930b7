//! A Rust source file as the tokens that paths are made of (identifiers, `::`, punctuation), with
//! comments, string and character literals and numbers left out, each token with its line.

/// One token and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub line: usize,
}

/// The tokens of `source`: identifiers (`$crate` included), `::`, and every other punctuation
/// character as a token of its own.
pub fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i, &mut line);
        } else if c == '"' {
            i = skip_string(&chars, i + 1, &mut line);
        } else if c == 'r' && raw_string_hashes(&chars, i).is_some() {
            i = skip_raw_string(&chars, i, &mut line);
        } else if c == 'b' && next == Some('"') {
            i = skip_string(&chars, i + 2, &mut line);
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if is_ident_start(c) || (c == '$' && next.is_some_and(is_ident_start)) {
            let begin = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            push(&mut tokens, chars[begin..i].iter().collect(), start_line);
        } else if c == ':' && next == Some(':') {
            push(&mut tokens, "::".into(), start_line);
            i += 2;
        } else {
            push(&mut tokens, c.to_string(), start_line);
            i += 1;
        }
    }
    tokens
}

fn push(tokens: &mut Vec<Token>, text: String, line: usize) {
    tokens.push(Token { text, line });
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// Past a `/* ... */` comment (they nest) starting at `i`.
fn skip_block_comment(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            (c, _) => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Past the closing quote of a string whose text starts at `i`.
fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// The number of `#` of a raw string starting at `i` (`r"`, `r#"`, ...), if one starts there.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
}

fn skip_raw_string(chars: &[char], i: usize, line: &mut usize) -> usize {
    let hashes = raw_string_hashes(chars, i).unwrap_or(0);
    let mut j = i + 2 + hashes;
    while j < chars.len() {
        if chars[j] == '"' && chars[j + 1..].iter().take(hashes).all(|&c| c == '#') {
            return j + 1 + hashes;
        }
        *line += usize::from(chars[j] == '\n');
        j += 1;
    }
    j
}

/// Past a character literal (`'a'`, `'\n'`, `'\u{1F}'`), or past the quote of a lifetime.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let close = chars[i + 2..].iter().position(|&c| c == '\'');
            close.map_or(chars.len(), |p| i + 3 + p)
        }
        (Some(_), Some('\'')) => i + 3,
        _ => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<String> {
        tokenize(source).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn comments_strings_and_chars_leave_no_tokens() {
        let source = "a // crate::x\n/* crate::y /* nested */ */ \"crate::z\\\"\" r#\"crate::w\"# '\"' b\"q\" c";
        assert_eq!(texts(source), ["a", "c"]);
    }

    #[test]
    fn paths_lifetimes_and_lines() {
        let tokens = tokenize("fn f<'a>(x: &'a u8) {\n  $crate::serial::x(1_u8)\n}");
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert!(texts.windows(3).any(|w| w == ["$crate", "::", "serial"]));
        assert!(!texts.contains(&"1_u8"));
        let serial = tokens.iter().find(|t| t.text == "serial").unwrap();
        assert_eq!(serial.line, 2);
    }
}
