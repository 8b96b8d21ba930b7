//! Partition images: an x86-64 ELF64 executable whose loadable segments (by physical address)
//! and entry point lie inside the partition's guest memory, below its boot area; or a Hermit
//! application (a `HERMIT` note), checked and placed by [`crate::hermit::image`]. Either is kept
//! as its packed load image ([`crate::pack`]), what the hypervisor embeds.

use super::{Ctx, Images};
use crate::boot_area::BootArea;
use crate::hermit::image::{self as hermit, Placement};
use crate::load::Sources;
use crate::model::LoadedImage;
use crate::pack::{pack, FileSegment};
use crate::plan::{Memory, Segment};
use crate::schema::ManifestFile;
use crate::size::Bytes;
use object::elf::{FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

/// What the image checks need from the other checks, per partition.
pub struct Partitions<'a> {
    pub memory: &'a [Option<Memory>],
    pub boot: &'a [Option<BootArea>],
    /// Virtual APIC IDs of each partition's vCPUs.
    pub apic_ids: &'a [Vec<u32>],
    /// Whether every vCPU of each partition starts at boot.
    pub all_boot: &'a [bool],
    pub tsc_khz: Option<u32>,
}

/// Loads and checks every image (or none with [`Images::Skip`]).
pub fn check(
    cx: &mut Ctx<'_>,
    sources: &Sources,
    manifest: &ManifestFile,
    parts: &Partitions<'_>,
    images: Images,
) -> Vec<Option<LoadedImage>> {
    manifest
        .partitions
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let (mem, area) = (&parts.memory[i], &parts.boot[i]);
            let part = part.get_ref();
            if images == Images::Skip {
                return None;
            }
            let path = sources.manifest_dir.join(part.image.get_ref());
            let err = |message: String| cx.manifest.error(part.image.span(), message);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let d = err(format!("image of `{}` cannot be read: {e}", part.name.get_ref()));
                    cx.push(d.found(path.display()).accepted("a readable ELF64 file").hint("image paths are relative to the manifest file; test guests are built into target/guests/ by xtask; a bare-metal build without guests can set TESSERA_IMAGES=skip"));
                    return None;
                }
            };
            let placement = mem.zip(*area).map(|(memory, area)| Placement {
                memory,
                usable_end: area.guest_base,
                apic_ids: parts.apic_ids[i].clone(),
                tsc_khz: parts.tsc_khz,
            });
            let loaded = load_placed(&bytes, *mem, *area, placement.as_ref());
            match loaded {
                Ok(image) if image.hermit.is_some() && !parts.all_boot[i] => {
                    hermit_boot_cpus(cx, part);
                    None
                }
                Ok(image) => Some(image),
                Err((message, accepted)) => {
                    let d = err(format!("image of `{}` {message}", part.name.get_ref()));
                    cx.push(d.found(path.display()).accepted(accepted));
                    None
                }
            }
        })
        .collect()
}

type Problem = (String, String);

/// What a partition image must be.
const ELF64: &str = "an x86-64 ELF64 executable (little-endian, e_machine = EM_X86_64)";

fn not_elf(why: &str) -> Problem {
    (
        format!("is not an ELF64 x86-64 executable: {why}"),
        ELF64.to_string(),
    )
}

/// A Hermit partition starts every vCPU at boot, as uhyve does (Hermit never sends INIT/SIPI).
fn hermit_boot_cpus(cx: &mut Ctx<'_>, part: &crate::schema::PartitionSpec) {
    let span = part
        .boot_cpus
        .as_ref()
        .map_or(part.image.span(), |b| b.span());
    let message = format!(
        "partition `{}` runs a Hermit application, which expects every vCPU to start at boot",
        part.name.get_ref()
    );
    let d = cx.manifest.error(span, message);
    cx.push(
        d.found("a `boot_cpus` list without every CPU of `cpus`")
            .accepted("`boot_cpus` left out (every vCPU starts at boot)")
            .hint(
                "remove `boot_cpus`: Hermit brings its vCPUs online itself once all have entered",
            ),
    );
}

/// Like [`load`], but a Hermit application is checked and (with a placement) planned, and a
/// Tessera image must end below the boot area.
fn load_placed(
    bytes: &[u8],
    memory: Option<Memory>,
    area: Option<BootArea>,
    placement: Option<&Placement>,
) -> Result<LoadedImage, Problem> {
    let header = header(bytes)?;
    if let Some(version) = hermit::entry_version(header, bytes) {
        return hermit::load(header, bytes, version, placement);
    }
    load(bytes, memory).and_then(|image| below_boot_area(image, area))
}

/// Parses an ELF64 x86-64 file, checks it against the guest memory (if placed) and packs its
/// load image ([`crate::pack`]). A Hermit application is checked without being placed.
pub fn load(bytes: &[u8], memory: Option<Memory>) -> Result<LoadedImage, Problem> {
    let header = header(bytes)?;
    if let Some(version) = hermit::entry_version(header, bytes) {
        return hermit::load(header, bytes, version, None);
    }
    let (packed, segments) = segments(header, bytes, memory)?;
    let entry = header.e_entry(LittleEndian);
    if !segments
        .iter()
        .any(|s| s.guest_phys <= entry && entry < s.guest_phys.saturating_add(s.memory_bytes))
    {
        let message = format!("has entry point {entry:#x} outside its loadable segments");
        return Err((message, "an entry point inside a PT_LOAD segment".into()));
    }
    Ok(LoadedImage {
        bytes: packed,
        entry,
        segments,
        hermit: None,
    })
}

/// The ELF header, if this is a little-endian ELF64 file for x86-64.
fn header(bytes: &[u8]) -> Result<&FileHeader64<LittleEndian>, Problem> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(not_elf("no ELF magic"));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(not_elf(
            "not 64-bit little-endian (ELFCLASS64, ELFDATA2LSB)",
        ));
    }
    let header = FileHeader64::<LittleEndian>::parse(bytes).map_err(|x| not_elf(&x.to_string()))?;
    match header.e_machine(LittleEndian) {
        object::elf::EM_X86_64 => Ok(header),
        other => Err(not_elf(&format!("e_machine is {other}"))),
    }
}

/// The non-empty PT_LOAD segments, each inside the file and the guest memory, and the load image
/// their file contents pack into.
fn segments(
    header: &FileHeader64<LittleEndian>,
    bytes: &[u8],
    memory: Option<Memory>,
) -> Result<(Vec<u8>, Vec<Segment>), Problem> {
    let e = LittleEndian;
    let phdrs = header
        .program_headers(e, bytes)
        .map_err(|x| not_elf(&x.to_string()))?;
    let loads: Vec<FileSegment> = phdrs
        .iter()
        .filter(|p| p.p_type(e) == PT_LOAD && p.p_memsz(e) > 0)
        .map(|ph| FileSegment {
            address: ph.p_paddr(e),
            file_offset: ph.p_offset(e),
            file_bytes: ph.p_filesz(e),
            memory_bytes: ph.p_memsz(e),
        })
        .collect();
    if loads.is_empty() {
        return Err(not_elf("no loadable (PT_LOAD) segment"));
    }
    let packed = pack(bytes, &loads).map_err(|x| not_elf(&x.to_string()))?;
    let segments: Vec<Segment> = loads
        .iter()
        .zip(&packed.offsets)
        .map(|(l, &offset)| Segment {
            guest_phys: l.address,
            offset,
            file_bytes: l.file_bytes,
            memory_bytes: l.memory_bytes,
        })
        .collect();
    for s in &segments {
        check_fits(*s, memory)?;
    }
    Ok((packed.bytes, segments))
}

/// The image's segments all end at or below the boot area (when it could be laid out).
fn below_boot_area(image: LoadedImage, area: Option<BootArea>) -> Result<LoadedImage, Problem> {
    let Some(area) = area else { return Ok(image) };
    let over = image.segments.iter().find(|s| {
        s.guest_phys
            .checked_add(s.memory_bytes)
            .is_none_or(|end| end > area.guest_base)
    });
    let Some(s) = over else { return Ok(image) };
    let end = s.guest_phys.saturating_add(s.memory_bytes);
    Err((
        format!(
            "overlaps the boot area at {:#x}..{:#x} ({}: guest page tables, GDT/TSS, one boot-info page per vCPU): segment at {:#x}..{end:#x}",
            area.guest_base,
            area.guest_base + area.bytes,
            Bytes(area.bytes),
            s.guest_phys,
        ),
        format!(
            "segments ending at or below {:#x}, the top of the memory minus the boot area (raise `memory` or relink the image lower)",
            area.guest_base
        ),
    ))
}

fn check_fits(s: Segment, memory: Option<Memory>) -> Result<(), Problem> {
    let Some(m) = memory else { return Ok(()) };
    let end = s.guest_phys.checked_add(s.memory_bytes);
    if s.guest_phys < m.guest_base || end.is_none_or(|end| end > m.guest_base + m.bytes) {
        return Err((
            format!(
                "does not fit its memory: segment at {:#x}..{:#x} ({})",
                s.guest_phys,
                s.guest_phys.saturating_add(s.memory_bytes),
                Bytes(s.memory_bytes)
            ),
            format!(
                "segments inside guest-physical {:#x}..{:#x} (raise `memory` or relink the image)",
                m.guest_base,
                m.guest_base + m.bytes
            ),
        ));
    }
    Ok(())
}
