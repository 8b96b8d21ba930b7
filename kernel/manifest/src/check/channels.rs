//! Channels, first half: who writes, who reads, the ring size and the two doorbell vectors, and
//! the routes the doorbells need, derived into the partitions' routes (exitless, or trapped with
//! exactly the channel's vectors). Addresses are checked and placed in [`super::channel_place`].

use super::Ctx;
use crate::channel::{NAME_MAX_BYTES, PER_PARTITION_MAX, READERS_MAX};
use crate::diag::{did_you_mean, list};
use crate::model::RouteModel;
use crate::plan::RouteMode;
use crate::schema::{ChannelSpec, ManifestFile, RouteModeSpec};
use crate::size::Bytes;
use crate::vectors::VectorSet;
use toml::Spanned;

/// Bytes of a page: ring sizes and addresses are multiples of it.
pub const PAGE_BYTES: u64 = 4096;
/// Lowest doorbell vector: 0-31 are exceptions and reserved by the architecture.
pub const FIRST_VECTOR: u32 = 32;

/// A channel whose names, size and vectors are valid.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub index: usize,
    pub writer: usize,
    pub readers: Vec<usize>,
    pub ring_bytes: u64,
    pub mode: RouteMode,
    pub doorbell_vector: u8,
    pub credit_vector: u8,
}

/// Checks every channel and adds the routes its doorbells need to `routes`.
pub fn resolve(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    names: &[String],
    routes: &mut [Vec<RouteModel>],
) -> Vec<Resolved> {
    let explicit: Vec<Vec<RouteModel>> = routes.to_vec();
    let mut out: Vec<Resolved> = Vec::new();
    for (index, spec) in manifest.channels.iter().enumerate() {
        let spec = spec.get_ref();
        let named = check_name(cx, manifest, index);
        let parties = parties(cx, spec, names);
        let ring = ring_bytes(cx, spec);
        let vectors = (
            vector(cx, spec, &spec.doorbell_vector, "doorbell_vector"),
            vector(cx, spec, &spec.credit_vector, "credit_vector"),
        );
        let (Some((writer, readers)), Some(ring_bytes), (Some(d), Some(c)), true) =
            (parties, ring, vectors, named)
        else {
            continue;
        };
        let mode = match spec.doorbell.get_ref() {
            RouteModeSpec::Exitless => RouteMode::Exitless,
            RouteModeSpec::Trapped => RouteMode::Trapped,
        };
        out.push(Resolved {
            index,
            writer,
            readers,
            ring_bytes,
            mode,
            doorbell_vector: d,
            credit_vector: c,
        });
    }
    let clash_free: Vec<Resolved> = out
        .iter()
        .filter(|r| !clashes(cx, manifest, names, &explicit, &out, r))
        .cloned()
        .collect();
    too_many_per_partition(cx, manifest, names, &clash_free);
    clash_free
        .into_iter()
        .filter(|r| derive_routes(cx, manifest, names, routes, r))
        .collect()
}

fn check_name(cx: &mut Ctx<'_>, manifest: &ManifestFile, index: usize) -> bool {
    let name = &manifest.channels[index].get_ref().name;
    let text = name.get_ref();
    if !super::valid_name(text) || text.len() > NAME_MAX_BYTES {
        let d = cx
            .manifest
            .error(name.span(), format!("invalid channel name `{text}`"));
        cx.push(d.found(format!("\"{text}\"")).accepted(format!(
            "{}, at most {NAME_MAX_BYTES} bytes",
            super::NAME_RULE
        )));
        return false;
    }
    let earlier = manifest.channels[..index]
        .iter()
        .any(|c| c.get_ref().name.get_ref() == text);
    if earlier {
        let d = cx
            .manifest
            .error(name.span(), format!("second channel named `{text}`"));
        cx.push(
            d.found(format!("\"{text}\""))
                .accepted("a name no other [[channel]] uses")
                .hint("rename one of them"),
        );
    }
    !earlier
}

/// The writer and reader partition indices.
fn parties(cx: &mut Ctx<'_>, spec: &ChannelSpec, names: &[String]) -> Option<(usize, Vec<usize>)> {
    let channel = spec.name.get_ref();
    let writer = partition(cx, &spec.writer, names, channel, "writer");
    let mut readers: Vec<usize> = Vec::new();
    let mut ok = writer.is_some();
    if spec.readers.get_ref().is_empty() || spec.readers.get_ref().len() > READERS_MAX {
        let d = cx.manifest.error(
            spec.readers.span(),
            format!(
                "channel `{channel}` has {} readers",
                spec.readers.get_ref().len()
            ),
        );
        cx.push(
            d.found(spec.readers.get_ref().len())
                .accepted(format!("1 to {READERS_MAX} reader partitions"))
                .hint("a channel with more readers is several channels"),
        );
        ok = false;
    }
    for r in spec.readers.get_ref() {
        let Some(index) = partition(cx, r, names, channel, "reader") else {
            ok = false;
            continue;
        };
        if Some(index) == writer {
            let d = cx.manifest.error(
                r.span(),
                format!(
                    "partition `{}` is both the writer and a reader of channel `{channel}`",
                    r.get_ref()
                ),
            );
            cx.push(
                d.found(format!(
                    "writer = \"{0}\", readers = [\"{0}\"]",
                    r.get_ref()
                ))
                .accepted("readers other than the writer")
                .hint("inside a partition, share memory directly: a channel joins two partitions"),
            );
            ok = false;
        } else if readers.contains(&index) {
            let d = cx.manifest.error(
                r.span(),
                format!(
                    "partition `{}` is named twice as a reader of channel `{channel}`",
                    r.get_ref()
                ),
            );
            cx.push(
                d.found(format!("\"{}\" twice", r.get_ref()))
                    .accepted("each reader once")
                    .hint("remove the second"),
            );
            ok = false;
        } else {
            readers.push(index);
        }
    }
    ok.then(|| (writer.unwrap_or_default(), readers))
}

fn partition(
    cx: &mut Ctx<'_>,
    name: &Spanned<String>,
    names: &[String],
    channel: &str,
    field: &str,
) -> Option<usize> {
    let text = name.get_ref();
    let found = names.iter().position(|n| n == text);
    if found.is_none() {
        let d = cx.manifest.error(
            name.span(),
            format!("{field} of channel `{channel}` is unknown partition `{text}`"),
        );
        let all = names.iter().map(String::as_str);
        cx.push(
            d.found(format!("\"{text}\""))
                .accepted(list(all.clone()))
                .maybe_hint(did_you_mean(text, all)),
        );
    }
    found
}

fn ring_bytes(cx: &mut Ctx<'_>, spec: &ChannelSpec) -> Option<u64> {
    let bytes = spec.bytes.get_ref().0;
    if bytes == 0 || !bytes.is_multiple_of(PAGE_BYTES) || bytes > 1 << 40 {
        let d = cx.manifest.error(
            spec.bytes.span(),
            format!(
                "`bytes` of channel `{}` is not a whole number of 4 KiB pages",
                spec.name.get_ref()
            ),
        );
        let up = Bytes(bytes.div_ceil(PAGE_BYTES).max(1) * PAGE_BYTES);
        cx.push(
            d.found(Bytes(bytes))
                .accepted("a non-zero multiple of 4 KiB (0x1000), at most 1 TiB")
                .hint(format!("try {up}: the EPT gives each page one permission")),
        );
        return None;
    }
    Some(bytes)
}

fn vector(cx: &mut Ctx<'_>, spec: &ChannelSpec, value: &Spanned<u32>, field: &str) -> Option<u8> {
    match u8::try_from(*value.get_ref()) {
        Ok(v) if u32::from(v) >= FIRST_VECTOR => Some(v),
        _ => {
            let d = cx.manifest.error(
                value.span(),
                format!(
                    "`{field}` of channel `{}` cannot be a doorbell",
                    spec.name.get_ref()
                ),
            );
            cx.push(d.found(value.get_ref()).accepted("32..=255").hint("vectors 0-31 are the processor's exceptions; pick one from 32 up that the receiving guest does not use for anything else"));
            None
        }
    }
}

/// One vector a partition receives, and from what.
struct Use {
    partition: usize,
    vector: u8,
    what: String,
    channel: Option<usize>,
}

/// Every vector each partition receives through a channel or a trapped route.
fn uses(
    names: &[String],
    explicit: &[Vec<RouteModel>],
    channels: &[Resolved],
    manifest: &ManifestFile,
) -> Vec<Use> {
    let mut out = Vec::new();
    for (from, list) in explicit.iter().enumerate() {
        for r in list.iter().filter(|r| r.mode == RouteMode::Trapped) {
            for vector in r.vectors.iter() {
                out.push(Use {
                    partition: r.to,
                    vector,
                    what: format!("the trapped route from `{}`", names[from]),
                    channel: None,
                });
            }
        }
    }
    for c in channels {
        let name = manifest.channels[c.index].get_ref().name.get_ref();
        for &r in &c.readers {
            out.push(Use {
                partition: r,
                vector: c.doorbell_vector,
                what: format!("the doorbell of channel `{name}`"),
                channel: Some(c.index),
            });
        }
        out.push(Use {
            partition: c.writer,
            vector: c.credit_vector,
            what: format!("the credit vector of channel `{name}`"),
            channel: Some(c.index),
        });
    }
    out
}

/// Reports a vector of `c` that its receiving partition already uses otherwise; true if any.
fn clashes(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    names: &[String],
    explicit: &[Vec<RouteModel>],
    all: &[Resolved],
    c: &Resolved,
) -> bool {
    let uses = uses(names, explicit, all, manifest);
    let spec = manifest.channels[c.index].get_ref();
    let mut found = false;
    let receivers = c.readers.iter().map(|&r| {
        (
            r,
            c.doorbell_vector,
            &spec.doorbell_vector,
            "doorbell_vector",
        )
    });
    for (p, v, span, field) in receivers.chain([(
        c.writer,
        c.credit_vector,
        &spec.credit_vector,
        "credit_vector",
    )]) {
        let other = uses
            .iter()
            .find(|u| u.partition == p && u.vector == v && u.channel < Some(c.index));
        if let Some(other) = other {
            let d = cx.manifest.error(span.span(), format!("`{field}` {v:#x} of channel `{}` arrives in `{}`, which already receives it as {}", spec.name.get_ref(), names[p], other.what));
            cx.push(
                d.found(format!("{field} = {v:#x}"))
                    .accepted(format!(
                        "a vector in 32..=255 that `{}` receives for nothing else",
                        names[p]
                    ))
                    .hint("a guest tells its interrupts apart by vector: give each use its own"),
            );
            found = true;
        }
    }
    found
}

fn too_many_per_partition(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    names: &[String],
    channels: &[Resolved],
) {
    for (p, name) in names.iter().enumerate() {
        let mine: Vec<&Resolved> = channels
            .iter()
            .filter(|c| c.writer == p || c.readers.contains(&p))
            .collect();
        if let Some(c) = mine.get(PER_PARTITION_MAX) {
            let spec = manifest.channels[c.index].get_ref();
            let d = cx.manifest.error(
                spec.name.span(),
                format!("partition `{name}` takes part in more than {PER_PARTITION_MAX} channels"),
            );
            cx.push(d.found(format!("{} channels", mine.len())).accepted(format!("at most {PER_PARTITION_MAX} per partition (its boot-info block lists each)")).hint("merge channels: one ring can carry several kinds of message"));
        }
    }
}

/// Adds the doorbell routes of `c`; false (with an error) when a route of the other mode exists.
fn derive_routes(
    cx: &mut Ctx<'_>,
    manifest: &ManifestFile,
    names: &[String],
    routes: &mut [Vec<RouteModel>],
    c: &Resolved,
) -> bool {
    let spec = manifest.channels[c.index].get_ref();
    let mut ok = true;
    let pairs = c.readers.iter().flat_map(|&r| {
        [
            (c.writer, r, c.doorbell_vector),
            (r, c.writer, c.credit_vector),
        ]
    });
    for (from, to, vector) in pairs {
        let wanted = match c.mode {
            RouteMode::Exitless => VectorSet::DELIVERABLE,
            RouteMode::Trapped => VectorSet::EMPTY.with(vector),
        };
        match routes[from].iter_mut().find(|r| r.to == to) {
            None => routes[from].push(RouteModel {
                to,
                mode: c.mode,
                vectors: wanted,
            }),
            Some(r) if r.mode == c.mode => {
                r.vectors = VectorSet(core::array::from_fn(|i| r.vectors.0[i] | wanted.0[i]))
            }
            Some(r) => {
                let d = cx.manifest.error(
                    spec.doorbell.span(),
                    format!(
                        "channel `{}` needs a {} route from `{}` to `{}`, but that route is {}",
                        spec.name.get_ref(),
                        c.mode.as_str(),
                        names[from],
                        names[to],
                        r.mode.as_str()
                    ),
                );
                let hint = match c.mode {
                    RouteMode::Trapped => "an exitless route already lets every vector through, so a trapped doorbell over it would enforce nothing: make the channel exitless, or the route trapped",
                    RouteMode::Exitless => "the trapped route checks every IPI between the two: make the route exitless (the partitions trust each other), or the channel trapped",
                };
                cx.push(d.found(format!("doorbell = \"{}\"", c.mode.as_str())).accepted(format!("doorbell = \"{}\", the mode of the route from `{}` to `{}` (declared, or derived from another channel)", r.mode.as_str(), names[from], names[to])).hint(hint));
                ok = false;
            }
        }
    }
    ok
}
