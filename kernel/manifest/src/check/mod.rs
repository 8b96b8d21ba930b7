//! Validation: every rule a manifest must satisfy, each error located and explained. All errors
//! are collected; the model is returned only when there are none.

mod apic;
mod board;
mod board_map;
mod board_ports;
mod boot;
mod channel_place;
mod channels;
mod console;
mod cpus;
mod devices;
mod dma;
mod fit;
mod image;
mod irqs;
mod memory;
mod routes;
mod smt;

use crate::diag::{Diagnostic, Errors, SourceFile};
use crate::load::Sources;
use crate::model::{Model, PartitionModel};
use crate::plan::{Ipiv, IpivMode, TimerMode};
use crate::schema::{IpivSpec, ManifestFile, TimerSpec};
pub use board::BoardFacts;
pub use cpus::{valid_name, NAME_RULE};
pub use image::load as load_image;

/// Whether to read and check partition images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Images {
    /// Read every image and check it (bare-metal builds, `xtask check`).
    Load,
    /// Plan without image bytes (host builds before any guest is built).
    Skip,
}

/// Collects diagnostics for the two files.
pub struct Ctx<'s> {
    pub board: &'s SourceFile,
    pub manifest: &'s SourceFile,
    pub errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Records an error.
    pub fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }
}

/// Parses and validates both files.
pub fn check(sources: &Sources, images: Images) -> Result<Model, Errors> {
    let (board_file, manifest) = sources.parse()?;
    let mut cx = Ctx {
        board: &sources.board,
        manifest: &sources.manifest,
        errors: Vec::new(),
    };
    let board = board::check(&mut cx, &board_file);
    let ipiv = check_top(&mut cx, &board, &manifest);
    let parts = check_partitions(&mut cx, sources, &board, &manifest, images);
    if !cx.errors.is_empty() {
        return Err(sorted(cx.errors));
    }
    let model = Model {
        board: board.name.clone(),
        board_cpus: board
            .cpus
            .iter()
            .map(|c| (c.name.clone(), c.apic_id))
            .collect(),
        ipiv,
        tsc_hz: board.tsc_hz,
        bus_lock_exit: board.bus_lock_exit,
        hypervisor: board.hypervisor,
        console: board
            .hypervisor_console
            .map(|i| board.devices[i].clone())
            .unwrap_or_else(|| unreachable!("a console is required and checked")),
        notes: notes(&manifest, &parts),
        channels: parts.channels.clone(),
        partitions: assemble(sources, &manifest, parts),
    };
    fit::check(&mut cx, &board_file, &model);
    match cx.errors.is_empty() {
        true => Ok(model),
        false => Err(sorted(cx.errors)),
    }
}

/// Per-partition results of the checks, in manifest order.
struct Checked {
    vcpus: Vec<Vec<crate::model::VcpuModel>>,
    routes: Vec<Vec<crate::model::RouteModel>>,
    apic_first: Vec<u32>,
    notes: Vec<String>,
    channels: Vec<crate::model::ChannelModel>,
    memory: Vec<Option<crate::plan::Memory>>,
    devices: Vec<(crate::plan::Console, Vec<crate::model::DeviceModel>)>,
    console_weights: Vec<u16>,
    images: Vec<Option<crate::model::LoadedImage>>,
}

fn check_partitions(
    cx: &mut Ctx<'_>,
    sources: &Sources,
    board: &BoardFacts,
    manifest: &ManifestFile,
    images: Images,
) -> Checked {
    let names = cpus::check_names(cx, manifest);
    let vcpus = cpus::check(cx, board, manifest);
    smt::check(cx, board, manifest, &names);
    let mut routes = routes::check(cx, manifest, &names);
    let resolved = channels::resolve(cx, manifest, &names, &mut routes);
    let sizes: Vec<usize> = vcpus.iter().map(Vec::len).collect();
    // APIC-ID ranges are checked against the CPUs as written, so that a misspelt or doubly
    // owned CPU (already an error) does not also make its range the wrong size.
    let written: Vec<usize> = manifest
        .partitions
        .iter()
        .map(|p| p.get_ref().cpus.get_ref().len())
        .collect();
    let (apic_first, notes) = apic::check(cx, manifest, &written, &routes);
    let memory = memory::check(cx, board, manifest);
    let devices = devices::check(cx, board, manifest, &memory);
    let console_weights = console::weights(cx, manifest);
    let inputs = channel_place::Inputs {
        board,
        names: &names,
        memory: &memory,
        devices: &devices,
    };
    let (channels, channel_notes) = channel_place::place(cx, manifest, &inputs, &resolved);
    let boot = boot::check(cx, manifest, &memory, &sizes, (&devices, &channels));
    let apic_ids: Vec<Vec<u32>> = sizes
        .iter()
        .zip(&apic_first)
        .map(|(&n, &first)| (0..n as u32).map(|i| first + i).collect())
        .collect();
    let all_boot: Vec<bool> = vcpus
        .iter()
        .map(|v| v.iter().all(|v| v.starts_at_boot))
        .collect();
    let parts = image::Partitions {
        memory: &memory,
        boot: &boot,
        apic_ids: &apic_ids,
        all_boot: &all_boot,
        tsc_khz: board.tsc_hz.and_then(|hz| u32::try_from(hz / 1000).ok()),
    };
    let images = image::check(cx, sources, manifest, &parts, images);
    Checked {
        vcpus,
        routes,
        apic_first,
        notes: notes.into_iter().chain(channel_notes).collect(),
        channels,
        memory,
        devices,
        console_weights,
        images,
    }
}

/// Builds the partition models of an error-free check.
fn assemble(sources: &Sources, manifest: &ManifestFile, c: Checked) -> Vec<PartitionModel> {
    let all = c
        .vcpus
        .into_iter()
        .zip(c.routes)
        .zip(c.devices)
        .zip(c.images);
    all.enumerate()
        .map(|(i, (((vcpus, routes), (console, devices)), image))| {
            let spec = manifest.partitions[i].get_ref();
            PartitionModel {
                name: spec.name.get_ref().clone(),
                vcpus,
                apic_first: c.apic_first[i],
                memory: c.memory[i]
                    .unwrap_or_else(|| unreachable!("placed when there are no errors")),
                image_path: sources.manifest_dir.join(spec.image.get_ref()),
                image,
                console,
                console_weight: c.console_weights[i],
                timer: match spec.timer.as_ref().map(|t| *t.get_ref()) {
                    Some(TimerSpec::Virtualized) => TimerMode::Virtualized,
                    Some(TimerSpec::Preferred) | None => TimerMode::Preferred,
                    Some(TimerSpec::Trapped) => TimerMode::Trapped,
                },
                devices,
                routes,
            }
        })
        .collect()
}

/// What the planner chose: APIC-ID ranges, then memory placements.
fn notes(manifest: &ManifestFile, parts: &Checked) -> Vec<String> {
    let placed = manifest
        .partitions
        .iter()
        .zip(&parts.memory)
        .filter(|(p, _)| p.get_ref().host_base.is_none());
    let memory = placed.filter_map(|(p, m)| {
        m.map(|m| {
            format!(
                "partition `{}`: host_base = {:#x} (chosen by the planner)",
                p.get_ref().name.get_ref(),
                m.host_base
            )
        })
    });
    parts.notes.iter().cloned().chain(memory).collect()
}

fn sorted(mut errors: Vec<Diagnostic>) -> Errors {
    errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    Errors(errors)
}

/// The partitions file names this board, and its `ipiv` wish can be honoured.
fn check_top(cx: &mut Ctx<'_>, board: &BoardFacts, manifest: &ManifestFile) -> Ipiv {
    if manifest.board.get_ref() != &board.name {
        let d = cx.manifest.error(
            manifest.board.span(),
            format!(
                "this manifest is for board `{}`, but the board file is `{}`",
                manifest.board.get_ref(),
                board.name
            ),
        );
        cx.push(
            d.found(format!("board = \"{}\"", manifest.board.get_ref()))
                .accepted(format!("board = \"{}\"", board.name))
                .hint("pass the matching board file with --board (or TESSERA_BOARD)"),
        );
    }
    let mode = match manifest.ipiv.get_ref() {
        IpivSpec::Required => IpivMode::Required,
        IpivSpec::Preferred => IpivMode::Preferred,
        IpivSpec::Off => IpivMode::Off,
    };
    if mode == IpivMode::Required && !board.ipiv {
        let d = cx.manifest.error(
            manifest.ipiv.span(),
            format!(
                "ipiv = \"required\" but board `{}` has no IPI virtualization",
                board.name
            ),
        );
        cx.push(d.found("ipiv = \"required\"").accepted("\"preferred\" or \"off\" on this board")
            .hint("use ipiv = \"preferred\" to fall back to trapped IPIs, or a board with IPIv (Sapphire Rapids or later)"));
    }
    Ipiv {
        mode,
        enabled: mode != IpivMode::Off && board.ipiv,
    }
}
