//! Reading and parsing the two manifest files, turning TOML and serde errors into diagnostics.

use crate::diag::{did_you_mean, Diagnostic, Errors, SourceFile};
use crate::schema::{BoardFile, ManifestFile};
use crate::sections::Sections;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

/// The board and partitions files, read but not yet parsed.
#[derive(Clone, Debug)]
pub struct Sources {
    pub board: SourceFile,
    pub manifest: SourceFile,
    /// Directory that image paths in the partitions file are relative to.
    pub manifest_dir: PathBuf,
}

impl Sources {
    /// Reads both files; an unreadable file is an error at its line 1.
    pub fn read(board: &Path, manifest: &Path) -> Result<Sources, Errors> {
        let (board, manifest_file) = (read_file(board), read_file(manifest));
        match (board, manifest_file) {
            (Ok(board), Ok(manifest_file)) => Ok(Sources {
                board,
                manifest: manifest_file,
                manifest_dir: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
            }),
            (b, m) => Err(Errors(
                b.err()
                    .into_iter()
                    .chain(m.err())
                    .flat_map(|e| e.0)
                    .collect(),
            )),
        }
    }

    /// Parses both files; reports the errors of both.
    pub fn parse(&self) -> Result<(BoardFile, ManifestFile), Errors> {
        match (
            parse::<BoardFile>(&self.board),
            parse::<ManifestFile>(&self.manifest),
        ) {
            (Ok(b), Ok(m)) => Ok((b, m)),
            (b, m) => Err(Errors(
                b.err()
                    .into_iter()
                    .chain(m.err())
                    .flat_map(|e| e.0)
                    .collect(),
            )),
        }
    }
}

fn read_file(path: &Path) -> Result<SourceFile, Errors> {
    let shown = path.display().to_string();
    std::fs::read_to_string(path)
        .map(|text| SourceFile {
            path: shown.clone(),
            text,
        })
        .map_err(|e| {
            Errors(vec![Diagnostic {
                file: shown,
                line: 1,
                col: 1,
                message: format!("cannot read the file: {e}"),
                found: None,
                accepted: None,
                hint: Some("pass another file with --board / --manifest".into()),
            }])
        })
}

/// Parses one TOML file into `T`; on failure, every syntax error, or every section's first
/// schema error (see [`crate::sections`]).
pub fn parse<T: DeserializeOwned + Sections>(file: &SourceFile) -> Result<T, Errors> {
    let (table, syntax) = DeTable::parse_recoverable(&file.text);
    let located =
        |e: &toml::de::Error| describe(file.error(e.span().unwrap_or(0..0), ""), e.message());
    if !syntax.is_empty() {
        return Err(in_order(syntax.iter().map(located).collect()));
    }
    toml::from_str(&file.text).map_err(|whole| {
        let sections = T::section_errors(&table);
        let errors = if sections.is_empty() {
            vec![whole]
        } else {
            sections
        };
        in_order(errors.iter().map(located).collect())
    })
}

fn in_order(mut errors: Vec<Diagnostic>) -> Errors {
    errors.sort_by_key(|d| (d.line, d.col));
    Errors(errors)
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into message + accepted + hint.
fn describe(mut d: Diagnostic, message: &str) -> Diagnostic {
    let message = message.trim().replace('\n', "; ");
    for kind in ["unknown field", "unknown variant"] {
        if let Some(rest) = message.strip_prefix(kind) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let found = found.trim().trim_matches('`');
            let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            d.message = format!("{kind} `{found}`");
            let accepted = expected.trim_start_matches("one of ");
            let accepted = if accepted.is_empty() {
                "no fields here"
            } else {
                accepted
            };
            return d
                .found(format!("`{found}`"))
                .accepted(accepted)
                .maybe_hint(did_you_mean(found, names));
        }
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        d.message = message.clone();
        return d.hint(format!("add {} to this table", field));
    }
    d.message = format!("invalid TOML: {message}");
    d
}
