//! Reading and checking a Hermit application at build time, and planning its boot: placement
//! ([`super::layout`]), relocations ([`super::relocate::check`]), boot information and device tree.

use super::boot_info::{raw_boot_info, BootInfoValues, Tls};
use super::fdt::{device_tree, FdtValues};
use super::layout::{layout, HermitLayout, ImageExtent, LayoutError};
use super::relocate::{self, RelocError, RELA_BYTES};
use super::{ENTRY_VERSION, KNOWN_WORKING, NT_HERMIT_ENTRY_VERSION, PORT_UART};
use crate::model::{HermitModel, LoadedImage};
use crate::pack::{pack, FileSegment, Packed};
use crate::plan::{Memory, Relocations, Segment};
use object::elf::{self, FileHeader64, ProgramHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::LittleEndian as LE;

/// A problem with the image: what is wrong, and what is accepted.
pub type Problem = (String, String);

/// Where the partition puts the application, from the rest of the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub memory: Memory,
    /// The boot area's first byte: Hermit's memory ends here.
    pub usable_end: u64,
    /// Virtual APIC IDs of the partition's vCPUs.
    pub apic_ids: Vec<u32>,
    pub tsc_khz: Option<u32>,
}

/// What a Hermit application must be.
fn accepted() -> String {
    format!(
        "a Hermit application with entry version {ENTRY_VERSION} (hermit-entry 0.10; known to work: {KNOWN_WORKING}), linked as a static position-independent executable"
    )
}

/// The entry version in a `HERMIT` note of `header`'s `PT_NOTE` segments: `None` when there is no
/// such note (not a Hermit application), `Some(None)` when its description is empty.
pub fn entry_version(header: &FileHeader64<LE>, bytes: &[u8]) -> Option<Option<u8>> {
    let phdrs = header.program_headers(LE, bytes).ok()?;
    phdrs.iter().find_map(|ph| {
        let mut notes = ph.notes(LE, bytes).ok()??;
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"HERMIT" && note.n_type(LE) == NT_HERMIT_ENTRY_VERSION {
                return Some(note.desc().first().copied());
            }
        }
        None
    })
}

/// Checks a Hermit application (`version` from [`entry_version`]) and, with a placement, plans its
/// boot. Without one (the memory has errors of its own) only the file is checked.
pub fn load(
    header: &FileHeader64<LE>,
    bytes: &[u8],
    version: Option<u8>,
    placement: Option<&Placement>,
) -> Result<LoadedImage, Problem> {
    if version != Some(ENTRY_VERSION) {
        let found = version.map_or("no entry version".into(), |v| format!("entry version {v}"));
        return Err((
            format!("is a Hermit application with {found}, which this Tessera cannot boot"),
            accepted(),
        ));
    }
    if header.e_type(LE) != elf::ET_DYN {
        let message =
            "is a Hermit application that is not position-independent (ELF type is not ET_DYN)";
        return Err((message.into(), accepted()));
    }
    let file = HermitFile::read(header, bytes)?;
    let Some(placement) = placement else {
        return Ok(file.unplaced());
    };
    file.plan(placement)
}

/// The parts of the file the boot needs.
struct HermitFile {
    /// Each non-empty `PT_LOAD`, at its `p_vaddr`.
    loads: Vec<FileSegment>,
    /// Their file contents, packed: what the hypervisor embeds.
    packed: Packed,
    extent: ImageExtent,
    tls: Option<Tls>,
    relocations: Relocations,
    entry: u64,
}

impl HermitFile {
    fn read(header: &FileHeader64<LE>, bytes: &[u8]) -> Result<HermitFile, Problem> {
        let phdrs = header.program_headers(LE, bytes).map_err(elf_problem)?;
        let loads: Vec<FileSegment> = phdrs
            .iter()
            .filter(|p| p.p_type(LE) == elf::PT_LOAD && p.p_memsz(LE) > 0)
            .map(|p| FileSegment {
                address: p.p_vaddr(LE),
                file_offset: p.p_offset(LE),
                file_bytes: p.p_filesz(LE),
                memory_bytes: p.p_memsz(LE),
            })
            .collect();
        let extent = ImageExtent {
            first_vaddr: loads
                .iter()
                .map(|l| l.address)
                .min()
                .ok_or_else(|| elf_problem("no PT_LOAD segment"))?,
            end_vaddr: loads
                .iter()
                .map(|l| l.address.saturating_add(l.memory_bytes))
                .max()
                .unwrap_or(0),
            align: phdrs
                .iter()
                .filter(|p| p.p_type(LE) == elf::PT_LOAD)
                .map(|p| p.p_align(LE))
                .max()
                .unwrap_or(0),
        };
        let packed = pack(bytes, &loads).map_err(elf_problem)?;
        let tls = phdrs
            .iter()
            .find(|p| p.p_type(LE) == elf::PT_TLS)
            .map(|p| Tls {
                start: p.p_vaddr(LE),
                filesz: p.p_filesz(LE),
                memsz: p.p_memsz(LE),
                align: p.p_align(LE),
            });
        Ok(HermitFile {
            relocations: relocations(phdrs, bytes, &loads, &packed)?,
            loads,
            packed,
            extent,
            tls,
            entry: header.e_entry(LE),
        })
    }

    /// Segments at their file addresses (planning did not happen: the manifest has other errors).
    fn unplaced(&self) -> LoadedImage {
        LoadedImage {
            bytes: self.packed.bytes.clone(),
            entry: self.entry,
            segments: self.segments(0),
            hermit: None,
        }
    }

    fn segments(&self, load_bias: u64) -> Vec<Segment> {
        let segment = |(l, &offset): (&FileSegment, &u64)| Segment {
            guest_phys: load_bias.wrapping_add(l.address),
            offset,
            file_bytes: l.file_bytes,
            memory_bytes: l.memory_bytes,
        };
        self.loads
            .iter()
            .zip(&self.packed.offsets)
            .map(segment)
            .collect()
    }

    fn plan(&self, p: &Placement) -> Result<LoadedImage, Problem> {
        let at = layout(p.memory.guest_base, p.usable_end, self.extent).map_err(layout_problem)?;
        let segments = self.segments(at.load_bias);
        let bytes = &self.packed.bytes;
        relocate::check(bytes, self.relocations, at.load_bias, &segments).map_err(reloc_problem)?;
        let entry = at.load_bias.wrapping_add(self.entry);
        if !segments
            .iter()
            .any(|s| (s.guest_phys..s.guest_phys + s.memory_bytes).contains(&entry))
        {
            return Err(elf_problem(format!(
                "entry point {:#x} is outside the loadable segments",
                self.entry
            )));
        }
        let hermit = self.boot(&at, p)?;
        Ok(LoadedImage {
            bytes: bytes.clone(),
            entry,
            segments,
            hermit: Some(hermit),
        })
    }

    /// Boot information and device tree for layout `at`.
    fn boot(&self, at: &HermitLayout, p: &Placement) -> Result<HermitModel, Problem> {
        let tls = self.tls.map(|t| Tls {
            start: at.load_bias.wrapping_add(t.start),
            ..t
        });
        let info = BootInfoValues {
            phys_start: p.memory.guest_base,
            phys_end: at.usable_end,
            serial_port: PORT_UART,
            device_tree: at.fdt_guest,
            image_start: at.image_start,
            image_end: at.image_end,
            tls,
            cpus: p.apic_ids.len() as u64,
            tsc_khz: p.tsc_khz,
            boot_time_ns: 0,
        };
        let fdt = device_tree(&FdtValues {
            memory_start: p.memory.guest_base,
            memory_end: at.usable_end,
            apic_ids: p.apic_ids.clone(),
            tsc_khz: p.tsc_khz,
        })
        .map_err(|e| (e, accepted()))?;
        Ok(HermitModel {
            load_bias: at.load_bias,
            relocations: self.relocations,
            stack_guest: at.stack_guest,
            boot_info_guest: at.boot_info_guest,
            boot_info: raw_boot_info(&info).to_vec(),
            fdt_guest: at.fdt_guest,
            fdt,
        })
    }
}

/// `DT_RELR` (relative relocations in the compact form; not named by `object`).
const DT_RELR: u32 = 36;

/// The `DT_RELA` table, as a range of the packed load image; refuses dynamic linking and other
/// relocation kinds.
fn relocations(
    phdrs: &[ProgramHeader64<LE>],
    bytes: &[u8],
    loads: &[FileSegment],
    packed: &Packed,
) -> Result<Relocations, Problem> {
    let none = Relocations {
        offset: 0,
        count: 0,
    };
    let Some(dynamic) = phdrs
        .iter()
        .find_map(|p| p.dynamic(LE, bytes).ok().flatten())
    else {
        return Ok(none);
    };
    let (mut rela, mut size, mut entry_bytes) = (None, 0, RELA_BYTES);
    for d in dynamic {
        match d.tag32(LE).unwrap_or(u32::MAX) {
            elf::DT_NEEDED => return Err(elf_problem("it needs shared libraries (DT_NEEDED)")),
            elf::DT_REL | DT_RELR | elf::DT_JMPREL => {
                return Err(elf_problem(
                    "it has relocations other than DT_RELA (DT_REL, DT_RELR or DT_JMPREL)",
                ))
            }
            elf::DT_RELA => rela = Some(d.d_val(LE)),
            elf::DT_RELASZ => size = d.d_val(LE),
            elf::DT_RELAENT => entry_bytes = d.d_val(LE),
            _ => {}
        }
    }
    let Some(address) = rela else { return Ok(none) };
    if entry_bytes != RELA_BYTES || size % RELA_BYTES != 0 {
        return Err(elf_problem(
            "its DT_RELA entries are not 24-byte Elf64_Rela",
        ));
    }
    let offset = packed.offset_of(loads, address, size).ok_or_else(|| {
        elf_problem("its DT_RELA table is not inside the file contents of one PT_LOAD segment")
    })?;
    Ok(Relocations {
        offset,
        count: size / RELA_BYTES,
    })
}

fn elf_problem(why: impl std::fmt::Display) -> Problem {
    (
        format!("is not a loadable Hermit application: {why}"),
        accepted(),
    )
}

fn layout_problem(e: LayoutError) -> Problem {
    match e {
        LayoutError::TooBig { image_end, usable_end } => (
            format!(
                "does not fit its memory: the Hermit application would end at {}, past {usable_end:#x} where the boot area begins",
                image_end.map_or("an address past 2^64".into(), |end| format!("{end:#x}"))
            ),
            format!("a memory holding {:#x} bytes of device tree, boot information and stack, then the image, below the boot area (raise `memory`)", super::layout::IMAGE_OFFSET),
        ),
        LayoutError::BadAlignment { align } => (
            format!("is not a loadable Hermit application: segment alignment {align:#x}"),
            "PT_LOAD alignments that are powers of two up to 1 GiB".into(),
        ),
    }
}

fn reloc_problem(e: RelocError) -> Problem {
    let why = match e {
        RelocError::TableOutsideImage { .. } => {
            "its relocation table runs past the end of the load image".to_string()
        }
        RelocError::UnsupportedType { index, r_type } => {
            format!(
                "relocation {index} has type {r_type}; Tessera applies R_X86_64_RELATIVE (8) only"
            )
        }
        RelocError::OutsideImage { index, guest } => {
            format!("relocation {index} writes at {guest:#x}, outside the image's segments")
        }
    };
    elf_problem(why)
}
