//! `cargo xtask layers`: every workspace crate's top-level modules in layers (each module uses only
//! modules of lower layers), and the check `cargo xtask test` runs first: no cycle between a
//! crate's top-level modules, except those listed in `KNOWN_CYCLE_EDGES` (which must still exist).

mod graph;
mod scan;
mod tokens;

use graph::Graph;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Edges `(crate, from, to)` of cycles that predate the check and are still to be removed. An edge
/// of a cycle not listed here fails the check, and so does a listed edge that is no longer part of
/// a cycle (delete it here).
const KNOWN_CYCLE_EDGES: &[(&str, &str, &str)] = &[];

/// Prints each crate's layers; exit 1 if the check fails.
pub fn main() -> ExitCode {
    match analyse() {
        Ok(crates) => {
            for (name, graph) in &crates {
                println!("{name}");
                for (n, layer) in graph.layers().iter().enumerate() {
                    println!("  {n:>2}: {}", layer.join(", "));
                }
            }
            let problems = problems(&crates, KNOWN_CYCLE_EDGES);
            report(&problems);
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: layers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The check of `cargo xtask test`: true when no crate has a cycle that is not listed.
pub fn check() -> bool {
    eprintln!("==> module layers: no cycles between top-level modules");
    match analyse() {
        Ok(crates) => {
            let problems = problems(&crates, KNOWN_CYCLE_EDGES);
            report(&problems);
            let modules: usize = crates.iter().map(|(_, g)| g.nodes.len()).sum();
            if problems.is_empty() {
                eprintln!(
                    "layers: {} crates, {modules} top-level modules, {} known cycle edges left",
                    crates.len(),
                    KNOWN_CYCLE_EDGES.len()
                );
            }
            problems.is_empty()
        }
        Err(e) => {
            eprintln!("error: layers: {e}");
            false
        }
    }
}

fn report(problems: &[String]) {
    for p in problems {
        eprintln!("error: {p}");
    }
    if !problems.is_empty() {
        eprintln!("hint: a module must not use a module that (directly or not) uses it: move the shared item down into a module both can use, or pass it in; `cargo xtask layers` prints the layers");
    }
}

/// Every cycle with an unlisted edge (the edges as `found:` lines), and every listed edge that is
/// not part of a cycle (any more).
fn problems(crates: &[(String, Graph)], known: &[(&str, &str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, graph) in crates {
        let edges = graph.cycle_edges();
        for cycle in graph.cycles() {
            let unlisted: Vec<String> = edges
                .iter()
                .filter(|((from, to), _)| cycle.contains(from) && cycle.contains(to))
                .filter(|((from, to), _)| {
                    !known.contains(&(name.as_str(), from.as_str(), to.as_str()))
                })
                .map(|((from, to), (file, line))| {
                    format!(
                        "  found: `{from}` uses `{to}` at {}:{line}",
                        shown(file).display()
                    )
                })
                .collect();
            if !unlisted.is_empty() {
                let members: Vec<&str> = cycle.iter().map(String::as_str).collect();
                problems.push(format!(
                    "crate {name}: a cycle between modules {}\n{}\n  accepted: modules in layers, each using only lower ones",
                    members.join(", "),
                    unlisted.join("\n")
                ));
            }
        }
        for (krate, from, to) in known.iter().filter(|(c, _, _)| c == name) {
            let listed = (from.to_string(), to.to_string());
            if !edges.iter().any(|(e, _)| **e == listed) {
                problems.push(format!(
                    "crate {krate}: `{from}` -> `{to}` is listed in KNOWN_CYCLE_EDGES (xtask/src/layers/mod.rs) but is no longer part of a cycle: delete the line"
                ));
            }
        }
    }
    problems
}

/// `file` relative to the workspace root.
fn shown(file: &Path) -> &Path {
    let root = crate::workspace::root();
    file.strip_prefix(&root).unwrap_or(file)
}

/// Every library and binary crate of the workspace with its module graph.
fn analyse() -> Result<Vec<(String, Graph)>, String> {
    let mut crates = Vec::new();
    for (name, root) in workspace_crates()? {
        let files = scan::module_tree(&root)?;
        crates.push((name, Graph::of(&files)));
    }
    Ok(crates)
}

/// `(crate, root file)` of every lib and bin target of the workspace's packages.
fn workspace_crates() -> Result<Vec<(String, PathBuf)>, String> {
    let root = crate::workspace::root();
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let mut crates = Vec::new();
    for package in json["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds: Vec<&str> = target["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str())
                .collect();
            if !kinds.iter().any(|k| matches!(*k, "lib" | "bin")) {
                continue;
            }
            let name = target["name"].as_str().unwrap_or("?").to_string();
            let src = target["src_path"].as_str().unwrap_or_default();
            crates.push((name, Path::new(src).to_path_buf()));
        }
    }
    crates.sort();
    Ok(crates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_cycles_and_stale_list_entries_are_both_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lib.rs");
        std::fs::write(&root, "mod a; mod b;").unwrap();
        std::fs::write(dir.path().join("a.rs"), "use crate::b::x;").unwrap();
        std::fs::write(dir.path().join("b.rs"), "fn f() { crate::a::y(); }").unwrap();
        let graph = Graph::of(&scan::module_tree(&root).unwrap());
        let crates = vec![("k".to_string(), graph)];
        let problems = problems(&crates, &[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("crate k: a cycle between modules a, b\n"));
        assert!(
            problems[0].contains("found: `a` uses `b` at "),
            "{problems:?}"
        );
        assert!(problems[0].contains("a.rs:1\n"), "{problems:?}");
        assert!(
            problems[0].contains("found: `b` uses `a` at "),
            "{problems:?}"
        );
        assert!(super::problems(&crates, &[("k", "a", "b"), ("k", "b", "a")]).is_empty());
        let stale = super::problems(
            &crates,
            &[("k", "a", "b"), ("k", "b", "a"), ("k", "a", "c")],
        );
        assert_eq!(stale.len(), 1);
        assert!(stale[0].contains("`a` -> `c` is listed"), "{stale:?}");
    }
}
