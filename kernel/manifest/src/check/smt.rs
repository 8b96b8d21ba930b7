//! SMT siblings: the hardware threads of one core (same `package` and `core` on the board) share
//! caches and execution units, so giving them to two partitions lets one slow the other down and
//! observe it through side channels. That is an error unless one of the two partitions names the
//! other in `share_cores_with`; a `share_cores_with` entry that grants nothing is an error too.

use super::{BoardFacts, Ctx};
use crate::diag::{did_you_mean, list};
use crate::schema::ManifestFile;
use std::ops::Range;
use toml::Spanned;

/// Checks every pair of partitions that share a core.
pub fn check(cx: &mut Ctx<'_>, board: &BoardFacts, manifest: &ManifestFile, names: &[String]) {
    let n = names.len();
    let allowed = opt_ins(cx, manifest, names);
    let owner = owners(board, manifest);
    let mut shared = vec![vec![false; n]; n];
    for (p, part) in manifest.partitions.iter().enumerate() {
        for cpu in part.get_ref().cpus.get_ref() {
            let Some(c) = board.cpu(cpu.get_ref()).filter(|&c| owner[c] == Some(p)) else {
                continue;
            };
            for s in siblings(board, c) {
                let Some(q) = owner[s].filter(|&q| q < p) else {
                    continue;
                };
                let first = !shared[p][q];
                (shared[p][q], shared[q][p]) = (true, true);
                if first && !allowed[p][q] {
                    report(cx, board, names, (p, c, cpu.span()), (q, s));
                }
            }
        }
    }
    stale_opt_ins(cx, manifest, names, &shared);
}

/// Board CPU index -> the partition that owns it (the first one naming it).
fn owners(board: &BoardFacts, manifest: &ManifestFile) -> Vec<Option<usize>> {
    let mut owner = vec![None; board.cpus.len()];
    for (p, part) in manifest.partitions.iter().enumerate() {
        for cpu in part.get_ref().cpus.get_ref() {
            if let Some(c) = board.cpu(cpu.get_ref()) {
                owner[c].get_or_insert(p);
            }
        }
    }
    owner
}

/// The other threads of board CPU `c`'s core.
fn siblings(board: &BoardFacts, c: usize) -> impl Iterator<Item = usize> + '_ {
    let (package, core) = (board.cpus[c].package, board.cpus[c].core);
    (0..board.cpus.len())
        .filter(move |&s| s != c && board.cpus[s].package == package && board.cpus[s].core == core)
}

/// `allowed[p][q]`: p or q names the other in `share_cores_with`; reports unknown names.
fn opt_ins(cx: &mut Ctx<'_>, manifest: &ManifestFile, names: &[String]) -> Vec<Vec<bool>> {
    let n = names.len();
    let mut allowed = vec![vec![false; n]; n];
    for (p, part) in manifest.partitions.iter().enumerate() {
        for other in &part.get_ref().share_cores_with {
            match names.iter().position(|m| m == other.get_ref()) {
                Some(q) if q != p => (allowed[p][q], allowed[q][p]) = (true, true),
                None if super::cpus::names_misnamed(names, other.get_ref()) => {}
                found => unknown(cx, names, p, other, found.is_some()),
            }
        }
    }
    allowed
}

fn unknown(cx: &mut Ctx<'_>, names: &[String], p: usize, other: &Spanned<String>, itself: bool) {
    let wanted = other.get_ref();
    let message = match itself {
        true => format!("partition `{wanted}` lists itself in share_cores_with"),
        false => format!("share_cores_with names unknown partition `{wanted}`"),
    };
    let others = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != p)
        .map(|(_, m)| m.as_str());
    let d = cx.manifest.error(other.span(), message);
    cx.push(
        d.found(format!("\"{wanted}\""))
            .accepted(format!("another partition: {}", list(others.clone())))
            .maybe_hint(did_you_mean(wanted, others)),
    );
}

fn report(
    cx: &mut Ctx<'_>,
    board: &BoardFacts,
    names: &[String],
    (p, c, span): (usize, usize, Range<usize>),
    (q, s): (usize, usize),
) {
    let (mine, theirs) = (&board.cpus[c], &board.cpus[s]);
    let d = cx.manifest.error(
        span,
        format!(
            "CPU `{}` of partition `{}` is an SMT sibling of `{}`, which partition `{}` owns",
            mine.name, names[p], theirs.name, names[q]
        ),
    );
    cx.push(
        d.found(format!(
            "`{}` and `{}` are threads of package {}, core {}",
            mine.name, theirs.name, mine.package, mine.core
        ))
        .accepted(format!(
            "CPUs of cores no other partition uses, or share_cores_with = [\"{}\"] in `{}` (or [\"{}\"] in `{}`) to accept the sharing",
            names[q], names[p], names[p], names[q]
        ))
        .hint("sibling threads share caches and execution units: one partition can slow the other and observe it through side channels"),
    );
}

/// A `share_cores_with` entry for partitions that share no core.
fn stale_opt_ins(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    names: &[String],
    shared: &[Vec<bool>],
) {
    for (p, part) in manifest.partitions.iter().enumerate() {
        for other in &part.get_ref().share_cores_with {
            let Some(q) = names.iter().position(|m| m == other.get_ref()) else {
                continue;
            };
            if q != p && !shared[p][q] {
                let d = cx.manifest.error(
                    other.span(),
                    format!(
                        "partitions `{}` and `{}` share no core: share_cores_with = [\"{}\"] accepts nothing",
                        names[p], names[q], names[q]
                    ),
                );
                cx.push(
                    d.found(format!("\"{}\"", names[q]))
                        .accepted("only partitions whose CPUs are SMT siblings of this partition's")
                        .hint("remove the entry, so that a later CPU change cannot make them siblings unnoticed"),
                );
            }
        }
    }
}
