//! Reading and parsing the two manifest files, turning TOML and serde errors into diagnostics.

use crate::diag::{Diagnostic, Errors, SourceFile};
use crate::schema::{BoardFile, ManifestFile};
use crate::schema_errors::describe;
use crate::sections::{SchemaError, Sections};
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
                file: shown.clone(),
                line: 1,
                col: 1,
                message: format!("cannot read the file: {e}"),
                found: Some(shown),
                accepted: Some("a readable TOML file".into()),
                hint: Some("pass another file with --board / --manifest".into()),
            }])
        })
}

/// Parses one TOML file into `T`; on failure, its syntax errors (one per cause, see
/// [`crate::syntax`]) or else every schema error of every section (see [`crate::sections`]).
pub fn parse<T: DeserializeOwned + Sections + IsBoard>(file: &SourceFile) -> Result<T, Errors> {
    let (table, syntax) = DeTable::parse_recoverable(&file.text);
    if !syntax.is_empty() {
        return Err(Errors(crate::syntax::diagnostics(file, &syntax)));
    }
    toml::from_str(&file.text).map_err(|whole| {
        let mut errors = T::section_errors(&table);
        if errors.is_empty() {
            errors.push(SchemaError {
                error: whole,
                path: Vec::new(),
                value_type: None,
                section: "the top level",
            });
        }
        let mut found: Vec<Diagnostic> =
            errors.iter().map(|e| describe(file, e, T::BOARD)).collect();
        found.sort_by_key(|d| (d.line, d.col));
        found.dedup_by(|a, b| (a.line, a.col, &a.message) == (b.line, b.col, &b.message));
        Errors(found)
    })
}

/// Which of the two files a schema is (for fields whose type differs between them).
pub trait IsBoard {
    const BOARD: bool;
}

impl IsBoard for BoardFile {
    const BOARD: bool = true;
}

impl IsBoard for ManifestFile {
    const BOARD: bool = false;
}
