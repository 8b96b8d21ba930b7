//! IPI routes: a known target other than the sender, one route per target, and a vector
//! allow-list (16..=255, not empty) on trapped routes only.

use super::Ctx;
use crate::diag::{did_you_mean, list};
use crate::model::RouteModel;
use crate::plan::RouteMode;
use crate::schema::{ManifestFile, RouteModeSpec, RouteSpec};
use crate::vectors::VectorSet;

/// Resolves every partition's routes.
pub fn check(cx: &mut Ctx<'_>, manifest: &ManifestFile, names: &[String]) -> Vec<Vec<RouteModel>> {
    let mut out = Vec::new();
    for (from, part) in manifest.partitions.iter().enumerate() {
        let mut routes: Vec<RouteModel> = Vec::new();
        for route in &part.get_ref().routes {
            let Some(to) = target(cx, route.get_ref(), names, from) else {
                continue;
            };
            if routes.iter().any(|r| r.to == to) {
                let d = cx.manifest.error(
                    route.get_ref().to.span(),
                    format!("second route from `{}` to `{}`", names[from], names[to]),
                );
                cx.push(
                    d.found(format!(
                        "to = \"{}\" in a second [[partition.route]]",
                        names[to]
                    ))
                    .accepted("one route per pair of partitions and direction")
                    .hint("merge them: one route per pair of partitions and direction"),
                );
                continue;
            }
            let mode = *route.get_ref().mode.get_ref();
            let vectors = vectors(cx, route.get_ref(), mode);
            let mode = match mode {
                RouteModeSpec::Exitless => RouteMode::Exitless,
                RouteModeSpec::Trapped => RouteMode::Trapped,
            };
            routes.push(RouteModel { to, mode, vectors });
        }
        out.push(routes);
    }
    out
}

/// The index of the route's target, or an error.
fn target(cx: &mut Ctx<'_>, route: &RouteSpec, names: &[String], from: usize) -> Option<usize> {
    let to = route.to.get_ref();
    match names.iter().position(|n| n == to) {
        Some(index) if index == from => {
            let d = cx
                .manifest
                .error(route.to.span(), format!("route from `{to}` to itself"));
            let others = names
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != from)
                .map(|(_, n)| n.as_str());
            cx.push(
                d.found(format!("to = \"{to}\""))
                    .accepted(format!("another partition: {}", list(others)))
                    .hint("IPIs inside a partition need no route: every vCPU may IPI every other"),
            );
            None
        }
        Some(index) => Some(index),
        None if super::cpus::names_misnamed(names, to) => None,
        None => {
            let d = cx.manifest.error(
                route.to.span(),
                format!("route to unknown partition `{to}`"),
            );
            let others = names
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != from)
                .map(|(_, n)| n.as_str());
            cx.push(
                d.found(format!("\"{to}\""))
                    .accepted(list(others.clone()))
                    .maybe_hint(did_you_mean(to, others)),
            );
            None
        }
    }
}

/// The vectors a route lets through.
fn vectors(cx: &mut Ctx<'_>, route: &RouteSpec, mode: RouteModeSpec) -> VectorSet {
    match (mode, &route.vectors) {
        (RouteModeSpec::Exitless, None) => VectorSet::DELIVERABLE,
        (RouteModeSpec::Exitless, Some(v)) => {
            let d = cx
                .manifest
                .error(v.span(), "an exitless route cannot restrict vectors");
            cx.push(
                d.found("mode = \"exitless\" with a vectors list")
                    .accepted("vectors only on trapped routes")
                    .hint("the processor delivers any vector >= 16 through IPIv; use mode = \"trapped\" to enforce a list"),
            );
            VectorSet::DELIVERABLE
        }
        (RouteModeSpec::Trapped, None) => {
            let d = cx.manifest.error(
                route.mode.span(),
                format!(
                    "trapped route to `{}` has no `vectors` list",
                    route.to.get_ref()
                ),
            );
            cx.push(
                d.found("mode = \"trapped\" without vectors")
                    .accepted("vectors = [ ... ] with values 16..=255")
                    .hint("list the vectors the hypervisor should let through"),
            );
            VectorSet::EMPTY
        }
        (RouteModeSpec::Trapped, Some(list)) => trapped_vectors(cx, route, list),
    }
}

fn trapped_vectors(
    cx: &mut Ctx<'_>,
    route: &RouteSpec,
    vectors: &toml::Spanned<Vec<toml::Spanned<u32>>>,
) -> VectorSet {
    if vectors.get_ref().is_empty() {
        let d = cx.manifest.error(
            vectors.span(),
            format!(
                "trapped route to `{}` has an empty vector list",
                route.to.get_ref()
            ),
        );
        cx.push(
            d.found("vectors = []")
                .accepted("at least one vector in 16..=255"),
        );
    }
    let mut set = VectorSet::EMPTY;
    for v in vectors.get_ref() {
        match u8::try_from(*v.get_ref()) {
            Ok(vector) if vector >= 16 => set = set.with(vector),
            _ => {
                let d = cx.manifest.error(
                    v.span(),
                    format!("vector {} cannot be sent as a fixed IPI", v.get_ref()),
                );
                cx.push(d.found(v.get_ref()).accepted(
                    "16..=255 (vectors 0-15 are reserved for exceptions and always exit)",
                ));
            }
        }
    }
    set
}
