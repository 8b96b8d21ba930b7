//! Virtual APIC-ID ranges: explicit ranges are checked (size = CPU count, within the 16-bit last
//! PID-pointer index, no overlap where a guest could see both); omitted ranges are chosen to
//! minimise the total PID-pointer table bytes.
//!
//! Overlap rule: a partition's guest addresses its own vCPUs and the vCPUs of every partition it
//! routes to by virtual APIC ID, so those ranges must be pairwise disjoint. Partitions that never
//! appear together in such a set may reuse the same IDs (each has its own table).

use super::Ctx;
use crate::model::RouteModel;
use crate::plan::RouteMode;
use crate::schema::ManifestFile;

/// Highest virtual APIC ID: the last PID-pointer index is a 16-bit VMCS field.
pub const MAX_VIRTUAL_APIC_ID: u32 = u16::MAX as u32;

/// Searches every placement order up to this many partitions with omitted ranges.
const EXHAUSTIVE_LIMIT: usize = 7;

/// Checks explicit ranges and assigns the rest; returns each partition's first ID and notes.
pub fn check(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    sizes: &[usize],
    routes: &[Vec<RouteModel>],
) -> (Vec<u32>, Vec<String>) {
    let conflicts = conflicts(sizes.len(), routes);
    let mut first: Vec<Option<u32>> = vec![None; sizes.len()];
    for (i, part) in manifest.partitions.iter().enumerate() {
        if let Some(ids) = &part.get_ref().apic_ids {
            first[i] = explicit(cx, part.get_ref().name.get_ref(), ids, sizes[i]);
        }
    }
    report_overlaps(cx, manifest, sizes, &first, &conflicts);
    let auto: Vec<usize> = (0..sizes.len())
        .filter(|&i| {
            first[i].is_none()
                && sizes[i] > 0
                && manifest.partitions[i].get_ref().apic_ids.is_none()
        })
        .collect();
    let chosen = assign(&first, &auto, sizes, routes, &conflicts);
    let mut notes = Vec::new();
    for &i in &auto {
        let f = chosen[i];
        notes.push(format!(
            "partition `{}`: apic_ids = {{ first = {f}, last = {} }} (chosen by the planner)",
            manifest.partitions[i].get_ref().name.get_ref(),
            f + sizes[i] as u32 - 1
        ));
    }
    (chosen, notes)
}

/// `conflicts[p][q]`: some guest sees both p and q (p routes to q, q to p, or a third to both).
fn conflicts(n: usize, routes: &[Vec<RouteModel>]) -> Vec<Vec<bool>> {
    let mut c = vec![vec![false; n]; n];
    for (r, out) in routes.iter().enumerate() {
        let seen: Vec<usize> = std::iter::once(r).chain(out.iter().map(|x| x.to)).collect();
        for &p in &seen {
            for &q in &seen {
                c[p][q] |= p != q;
            }
        }
    }
    c
}

fn explicit(
    cx: &mut Ctx<'_>,
    name: &str,
    ids: &toml::Spanned<crate::schema::ApicIdsSpec>,
    size: usize,
) -> Option<u32> {
    let (f, l) = (ids.get_ref().first, ids.get_ref().last);
    let found = format!("apic_ids = {{ first = {f}, last = {l} }}");
    if l < f {
        cx.push(
            cx.manifest
                .error(
                    ids.span(),
                    format!("APIC-ID range of `{name}` ends before it starts"),
                )
                .found(found)
                .accepted("first <= last"),
        );
    } else if l > MAX_VIRTUAL_APIC_ID {
        let d = cx.manifest.error(ids.span(), format!("virtual APIC ID {l} of `{name}` is above {MAX_VIRTUAL_APIC_ID}, the highest a 16-bit last PID-pointer index allows"));
        cx.push(
            d.found(found)
                .accepted(format!("IDs 0..={MAX_VIRTUAL_APIC_ID}"))
                .hint(
                    "lower the range; a smaller highest ID also means a smaller PID-pointer table",
                ),
        );
    } else if size == 0 {
        // The partition has no CPU (reported elsewhere): nothing to place.
    } else if (l - f) as usize + 1 != size {
        let d = cx.manifest.error(
            ids.span(),
            format!(
                "APIC-ID range of `{name}` has {} IDs but the partition has {size} CPU(s)",
                l - f + 1
            ),
        );
        cx.push(
            d.found(found)
                .accepted(format!("last = first + {}", size - 1))
                .hint("one virtual APIC ID per CPU, in `cpus` order"),
        );
    } else {
        return Some(f);
    }
    None
}

fn report_overlaps(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    sizes: &[usize],
    first: &[Option<u32>],
    conflicts: &[Vec<bool>],
) {
    let range = |i: usize| first[i].map(|f| (f, f + sizes[i] as u32 - 1));
    let pairs = (0..sizes.len()).flat_map(|q| (0..q).map(move |p| (p, q)));
    for (p, q) in pairs.filter(|&(p, q)| conflicts[p][q]) {
        let (Some(a), Some(b)) = (range(p), range(q)) else {
            continue;
        };
        if a.0 <= b.1 && b.0 <= a.1 {
            let (pn, qn) = (
                manifest.partitions[p].get_ref().name.get_ref(),
                manifest.partitions[q].get_ref().name.get_ref(),
            );
            let span = manifest.partitions[q]
                .get_ref()
                .apic_ids
                .as_ref()
                .map_or(0..0, |s| s.span());
            let d = cx.manifest.error(
                span,
                format!(
                    "APIC IDs {}..={} of `{qn}` overlap `{pn}`'s {}..={}",
                    b.0, b.1, a.0, a.1
                ),
            );
            cx.push(d.found(format!("apic_ids = {{ first = {}, last = {} }}", b.0, b.1))
                .accepted(format!("IDs outside `{pn}`'s {}..={}", a.0, a.1))
                .hint(format!("a guest that routes to `{pn}` or `{qn}` must tell their vCPUs apart; give them disjoint ranges or omit apic_ids to let the planner choose")));
        }
    }
}

/// Chooses first IDs for `auto` partitions, trying every order when there are few.
fn assign(
    fixed: &[Option<u32>],
    auto: &[usize],
    sizes: &[usize],
    routes: &[Vec<RouteModel>],
    conflicts: &[Vec<bool>],
) -> Vec<u32> {
    let mut best: Option<(u64, Vec<u32>)> = None;
    let mut order = auto.to_vec();
    let mut try_order = |order: &[usize]| {
        let firsts = greedy(fixed, order, sizes, conflicts);
        let cost = total_entries(&firsts, sizes, routes);
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, firsts));
        }
    };
    if auto.len() <= EXHAUSTIVE_LIMIT {
        permutations(&mut order, 0, &mut try_order);
    } else {
        try_order(&order);
    }
    best.map(|(_, f)| f).unwrap_or_default()
}

fn permutations(items: &mut Vec<usize>, k: usize, visit: &mut impl FnMut(&[usize])) {
    if k >= items.len() {
        return visit(items);
    }
    for i in k..items.len() {
        items.swap(k, i);
        permutations(items, k + 1, visit);
        items.swap(k, i);
    }
}

/// Places each partition of `order` at the lowest ID free of every conflicting placed range.
fn greedy(
    fixed: &[Option<u32>],
    order: &[usize],
    sizes: &[usize],
    conflicts: &[Vec<bool>],
) -> Vec<u32> {
    let mut placed: Vec<Option<u32>> = fixed.to_vec();
    for &p in order {
        let size = sizes[p] as u32;
        let busy: Vec<(u32, u32)> = (0..sizes.len())
            .filter(|&q| conflicts[p][q])
            .filter_map(|q| placed[q].map(|f| (f, f + sizes[q] as u32 - 1)))
            .collect();
        let candidates = std::iter::once(0).chain(busy.iter().map(|b| b.1 + 1));
        let free = |f: u32| busy.iter().all(|b| f + size - 1 < b.0 || b.1 < f);
        placed[p] = candidates.filter(|&f| free(f)).min();
    }
    placed.into_iter().map(|f| f.unwrap_or(0)).collect()
}

/// Sum over partitions of their PID-pointer table entries (highest exitless-reachable ID + 1).
pub fn total_entries(firsts: &[u32], sizes: &[usize], routes: &[Vec<RouteModel>]) -> u64 {
    let last = |i: usize| u64::from(firsts[i]) + sizes[i] as u64;
    (0..sizes.len())
        .filter(|&p| sizes[p] > 0)
        .map(|p| {
            routes[p]
                .iter()
                .filter(|r| r.mode == RouteMode::Exitless)
                .map(|r| last(r.to))
                .fold(last(p), u64::max)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::VectorSet;

    fn route(to: usize, mode: RouteMode) -> RouteModel {
        RouteModel {
            to,
            mode,
            vectors: VectorSet::DELIVERABLE,
        }
    }

    #[test]
    fn routed_pairs_and_co_targets_conflict() {
        let routes = vec![
            vec![route(1, RouteMode::Exitless), route(2, RouteMode::Trapped)],
            vec![],
            vec![],
            vec![],
        ];
        let c = conflicts(4, &routes);
        assert!(c[0][1] && c[1][0] && c[0][2] && c[1][2]);
        assert!(!c[3][0] && !c[3][1] && !c[0][0]);
    }

    #[test]
    fn search_gives_the_routed_target_the_low_ids() {
        // a routes exitless to b: putting b first makes a's table cover both and b's only itself.
        let routes = vec![vec![route(1, RouteMode::Exitless)], vec![]];
        let c = conflicts(2, &routes);
        let firsts = assign(&[None, None], &[0, 1], &[2, 2], &routes, &c);
        assert_eq!(firsts, [2, 0]);
        assert_eq!(total_entries(&firsts, &[2, 2], &routes), 4 + 2);
    }

    #[test]
    fn unrelated_partitions_reuse_ids() {
        let routes = vec![vec![], vec![]];
        let firsts = assign(
            &[None, None],
            &[0, 1],
            &[3, 1],
            &routes,
            &conflicts(2, &routes),
        );
        assert_eq!(firsts, [0, 0]);
    }

    #[test]
    fn fixed_ranges_are_kept_and_avoided() {
        let routes = vec![vec![route(1, RouteMode::Trapped)], vec![]];
        let firsts = assign(
            &[Some(1), None],
            &[1],
            &[2, 1],
            &routes,
            &conflicts(2, &routes),
        );
        assert_eq!(firsts, [1, 0]);
    }

    /// Smallest total over every conflict-free assignment of first IDs in `0..limit`.
    fn brute_force(sizes: &[usize], routes: &[Vec<RouteModel>], limit: u32) -> u64 {
        let c = conflicts(sizes.len(), routes);
        let n = sizes.len();
        let mut best = u64::MAX;
        for code in 0..limit.pow(n as u32) {
            let firsts: Vec<u32> = (0..n).map(|i| code / limit.pow(i as u32) % limit).collect();
            let last = |i: usize| firsts[i] + sizes[i] as u32 - 1;
            let clash = (0..n)
                .any(|p| (0..n).any(|q| c[p][q] && firsts[p] <= last(q) && firsts[q] <= last(p)));
            if !clash {
                best = best.min(total_entries(&firsts, sizes, routes));
            }
        }
        best
    }

    proptest::proptest! {
        #[test]
        fn search_matches_brute_force(sizes in proptest::collection::vec(1usize..=2, 1..=4), pairs in proptest::collection::vec((0usize..4, 0usize..4, proptest::bool::ANY), 0..6)) {
            let n = sizes.len();
            let mut routes: Vec<Vec<RouteModel>> = vec![Vec::new(); n];
            for (from, to, exitless) in pairs {
                let (from, to) = (from % n, to % n);
                if from != to && !routes[from].iter().any(|r| r.to == to) {
                    let mode = if exitless { RouteMode::Exitless } else { RouteMode::Trapped };
                    routes[from].push(route(to, mode));
                }
            }
            let auto: Vec<usize> = (0..n).collect();
            let firsts = assign(&vec![None; n], &auto, &sizes, &routes, &conflicts(n, &routes));
            proptest::prop_assert_eq!(total_entries(&firsts, &sizes, &routes), brute_force(&sizes, &routes, 8));
        }
    }
}
