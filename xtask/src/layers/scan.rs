//! A crate's module tree (followed from its root file through `mod name;` declarations) and the
//! modules each file refers to through `crate::`, `$crate::`, `super::` and `self::` paths.

use super::tokens::{tokenize, Token};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One source file of a crate: its module path (empty for the root file) and its tokens.
pub struct SourceFile {
    pub path: PathBuf,
    pub module: Vec<String>,
    pub tokens: Vec<Token>,
}

/// A path in a file that names an item of the same crate: the absolute module path it starts with
/// (`crate::a::b` gives `[a]`; an item of the root file gives `[name]` too) and its line.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    pub target: Vec<String>,
    pub line: usize,
}

/// Every file of the crate whose root file is `root`, following `mod name;` declarations.
pub fn module_tree(root: &Path) -> Result<Vec<SourceFile>, String> {
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), Vec::new())];
    while let Some((path, module)) = pending.pop() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let tokens = tokenize(&text);
        let dir = children_dir(&path, module.is_empty());
        for (inline, name) in declared_files(&tokens) {
            let base = inline.iter().fold(dir.clone(), |d, m| d.join(m));
            let file = [
                base.join(format!("{name}.rs")),
                base.join(&name).join("mod.rs"),
            ]
            .into_iter()
            .find(|f| f.is_file())
            .ok_or_else(|| format!("{}: `mod {name};` has no file", path.display()))?;
            let child = [module.clone(), inline, vec![name]].concat();
            pending.push((file, child));
        }
        files.push(SourceFile {
            path,
            module,
            tokens,
        });
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(files)
}

/// The directory where the submodules of `file` live.
fn children_dir(file: &Path, is_root: bool) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if is_root || stem == "mod" {
        dir
    } else {
        dir.join(stem)
    }
}

/// `mod name;` declarations: the inline modules around each, and its name.
fn declared_files(tokens: &[Token]) -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    walk(tokens, |i, inline| {
        let is = |k: usize, s: &str| tokens.get(i + k).is_some_and(|t| t.text == s);
        if tokens[i].text == "mod" && is(2, ";") {
            found.push((inline.to_vec(), tokens[i + 1].text.clone()));
        }
    });
    found
}

/// Calls `visit(i, inline)` for every token, with the names of the inline modules (`mod x { ... }`)
/// the token is inside.
fn walk(tokens: &[Token], mut visit: impl FnMut(usize, &[String])) {
    let mut depth = 0usize;
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for i in 0..tokens.len() {
        match tokens[i].text.as_str() {
            "{" => depth += 1,
            "}" => {
                if open.last().is_some_and(|(_, d)| *d == depth) {
                    open.pop();
                    names.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t.text == "{") => {
                open.push((tokens[i + 1].text.clone(), depth + 1));
                names.push(tokens[i + 1].text.clone());
            }
            _ => {}
        }
        visit(i, &names);
    }
}

/// The paths of `file` that name items of its own crate. In the root file, `children` (its
/// modules) may also start a path; `pub use` statements there (the crate's facade) are skipped
/// and reported as aliases instead: re-exported name → the module it comes from.
pub fn references(
    file: &SourceFile,
    children: &[String],
) -> (Vec<Reference>, BTreeMap<String, String>) {
    let tokens = &file.tokens;
    let is_root = file.module.is_empty();
    let mut refs = Vec::new();
    let mut aliases = BTreeMap::new();
    let mut skip_to = 0;
    walk(tokens, |i, inline| {
        if i < skip_to {
            return;
        }
        let text = tokens[i].text.as_str();
        let prev = i.checked_sub(1).map(|p| tokens[p].text.as_str());
        let next = tokens.get(i + 1).map(|t| t.text.as_str());
        if is_root && inline.is_empty() && text == "pub" && next == Some("use") {
            skip_to = record_aliases(tokens, i + 2, children, &mut aliases);
            return;
        }
        if next != Some("::") || prev == Some("::") {
            return;
        }
        let here = [file.module.clone(), inline.to_vec()].concat();
        match text {
            "crate" | "$crate" | "super" | "self" => {
                for target in resolve(tokens, i, &here) {
                    refs.push(Reference {
                        target,
                        line: tokens[i].line,
                    });
                }
            }
            name if is_root && inline.is_empty() && children.iter().any(|c| c == name) => refs
                .push(Reference {
                    target: vec![name.to_string()],
                    line: tokens[i].line,
                }),
            _ => {}
        }
    });
    (refs, aliases)
}

/// The absolute module paths (base + first name) a path starting at `tokens[i]` names; a group
/// (`crate::{a::x, b}`) names several.
fn resolve(tokens: &[Token], mut i: usize, here: &[String]) -> Vec<Vec<String>> {
    let mut base: Vec<String> = if tokens[i].text.ends_with("crate") {
        Vec::new()
    } else {
        here.to_vec()
    };
    loop {
        if tokens[i].text == "super" {
            base.pop();
        }
        let follows = tokens.get(i + 2).map(|t| t.text.as_str());
        if matches!(follows, Some("super" | "self"))
            && tokens.get(i + 3).is_some_and(|t| t.text == "::")
        {
            i += 2;
            continue;
        }
        break;
    }
    let names = match tokens.get(i + 2).map(|t| t.text.as_str()) {
        Some("{") => group_heads(tokens, i + 3),
        Some(name) => vec![name.to_string()],
        None => Vec::new(),
    };
    names
        .into_iter()
        .map(|name| match name.as_str() {
            "self" | "*" => base.clone(),
            _ => [base.clone(), vec![name]].concat(),
        })
        .collect()
}

/// The first name of each item of a `{ ... }` group whose first token is at `i`.
fn group_heads(tokens: &[Token], mut i: usize) -> Vec<String> {
    let (mut heads, mut depth, mut item_start) = (Vec::new(), 1usize, true);
    while i < tokens.len() && depth > 0 {
        let text = tokens[i].text.as_str();
        match text {
            "{" => depth += 1,
            "}" => depth -= 1,
            "," if depth == 1 => {
                item_start = true;
                i += 1;
                continue;
            }
            _ if item_start && depth == 1 => heads.push(text.to_string()),
            _ => {}
        }
        item_start = false;
        i += 1;
    }
    heads
}

/// Records the names a root `pub use` statement starting at `i` re-exports from one of the root's
/// own modules; returns the index past its `;`.
fn record_aliases(
    tokens: &[Token],
    mut i: usize,
    children: &[String],
    aliases: &mut BTreeMap<String, String>,
) -> usize {
    let start = i;
    while i < tokens.len() && tokens[i].text != ";" {
        i += 1;
    }
    let statement = &tokens[start..i];
    let mut words = statement.iter().map(|t| t.text.as_str()).filter(|t| {
        !matches!(
            *t,
            "crate" | "self" | "super" | "as" | "::" | "{" | "}" | ","
        )
    });
    if let Some(module) = words.next().filter(|m| children.iter().any(|c| c == m)) {
        for name in words {
            aliases.insert(name.to_string(), module.to_string());
        }
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(module: &[&str], source: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from("x.rs"),
            module: module.iter().map(|s| s.to_string()).collect(),
            tokens: tokenize(source),
        }
    }

    fn targets(module: &[&str], source: &str) -> Vec<String> {
        let children = vec!["boot".to_string(), "vcpu".to_string()];
        let (refs, _) = references(&file(module, source), &children);
        refs.iter().map(|r| r.target.join("::")).collect()
    }

    #[test]
    fn crate_super_self_and_groups_resolve_to_absolute_paths() {
        let source = "use crate::{a::{x, y}, b};\nuse super::c::d;\nfn f() { self::e::g(); super::super::h(); $crate::k!(); }";
        assert_eq!(
            targets(&["m", "n"], source),
            ["a", "b", "m::c", "m::n::e", "h", "k"]
        );
    }

    #[test]
    fn inline_modules_shift_super_and_tests_glob_their_parent() {
        let source =
            "mod tests { use super::*; use super::super::q; }\nmod z { fn f() { self::w(); } }";
        assert_eq!(targets(&["m"], source), ["m", "q", "m::z::w"]);
    }

    #[test]
    fn the_root_file_names_its_modules_bare_and_its_pub_uses_are_aliases() {
        let children = vec!["entry".to_string(), "percpu".to_string()];
        let root = file(&[], "pub use entry::fatal;\npub use percpu::{Cpu, Slot as S};\nfn g() { percpu::x(); other::y(); }");
        let (refs, aliases) = references(&root, &children);
        let names: Vec<String> = refs.iter().map(|r| r.target.join("::")).collect();
        assert_eq!(names, ["percpu"]);
        assert_eq!(refs[0].line, 3);
        assert_eq!(aliases["fatal"], "entry");
        assert_eq!(aliases["Cpu"], "percpu");
        assert_eq!(aliases["S"], "percpu");
    }

    #[test]
    fn paths_inside_longer_paths_and_mod_declarations_are_not_references() {
        assert!(targets(
            &["m"],
            "use tessera_vmx::crate_like::x; mod boot; x::self_::y();"
        )
        .is_empty());
    }

    #[test]
    fn the_module_tree_follows_mod_declarations_into_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lib.rs");
        std::fs::write(&root, "mod a;\n#[cfg(test)]\nmod b;\nmod inline { mod c; }").unwrap();
        std::fs::write(dir.path().join("a.rs"), "mod d;").unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/d.rs"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/mod.rs"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("inline")).unwrap();
        std::fs::write(dir.path().join("inline/c.rs"), "").unwrap();
        let tree = module_tree(&root).unwrap();
        let modules: Vec<String> = tree.iter().map(|f| f.module.join("::")).collect();
        assert_eq!(modules, ["", "a", "a::d", "b", "inline::c"]);
        std::fs::remove_file(dir.path().join("a/d.rs")).unwrap();
        let err = module_tree(&root).err().unwrap();
        assert!(err.contains("`mod d;` has no file"), "{err}");
    }
}
