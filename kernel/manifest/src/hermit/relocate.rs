//! Relocating a Hermit application: every `Elf64_Rela` of its file is `R_X86_64_RELATIVE`, which
//! stores `load_bias + addend` as 8 little-endian bytes at `load_bias + r_offset`. The build checks
//! each entry against the image's segments ([`check`]); the hypervisor applies them all to the
//! partition's memory ([`apply`]), refusing any that would write outside it. Both read the table
//! from the load image the plan carries (the packed segment contents, `crate::pack`).

use crate::plan::{Relocations, Segment};

/// Bytes of one `Elf64_Rela` entry.
pub const RELA_BYTES: u64 = 24;
/// `R_X86_64_RELATIVE`.
pub const R_X86_64_RELATIVE: u32 = 8;

/// One decoded `Elf64_Rela`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rela {
    pub offset: u64,
    pub info: u64,
    pub addend: i64,
}

impl Rela {
    /// The relocation type (`ELF64_R_TYPE`).
    pub const fn r_type(&self) -> u32 {
        self.info as u32
    }

    /// Where this relocation stores (guest-physical; `None` past the top of the address space),
    /// and the value it stores there.
    pub const fn value_at(&self, load_bias: u64) -> (Option<u64>, u64) {
        (
            load_bias.checked_add(self.offset),
            load_bias.wrapping_add_signed(self.addend),
        )
    }
}

/// Why a relocation cannot be applied (the index is the entry's position in the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocError {
    /// The table does not lie inside the load image.
    TableOutsideImage { offset: u64, count: u64 },
    /// An entry of another type than `R_X86_64_RELATIVE`.
    UnsupportedType { index: u64, r_type: u32 },
    /// An entry that would write outside the image's segments (at build time) or outside the
    /// partition's memory (at boot).
    OutsideImage { index: u64, guest: u64 },
}

impl core::fmt::Display for RelocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            RelocError::TableOutsideImage { offset, count } => write!(
                f,
                "the relocation table ({count} entries at offset {offset:#x} of the load image) runs past its end"
            ),
            RelocError::UnsupportedType { index, r_type } => write!(
                f,
                "relocation {index} has type {r_type}; Tessera applies R_X86_64_RELATIVE (8) only"
            ),
            RelocError::OutsideImage { index, guest } => write!(
                f,
                "relocation {index} writes at {guest:#x}, outside the image's segments"
            ),
        }
    }
}

/// Entry `index` of `table` in the load `image` (`None` past the table or the image).
pub fn entry(image: &[u8], table: Relocations, index: u64) -> Option<Rela> {
    if index >= table.count {
        return None;
    }
    let at = table.offset.checked_add(index.checked_mul(RELA_BYTES)?)?;
    let at = usize::try_from(at).ok()?;
    let bytes = image.get(at..at.checked_add(RELA_BYTES as usize)?)?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    Some(Rela {
        offset: word(0),
        info: word(1),
        addend: word(2) as i64,
    })
}

/// Whether the whole table lies inside the load image.
pub fn table_fits(image: &[u8], table: Relocations) -> bool {
    let end = table
        .count
        .checked_mul(RELA_BYTES)
        .and_then(|bytes| table.offset.checked_add(bytes));
    end.is_some_and(|end| end <= image.len() as u64)
}

/// Checks every entry: its type, and that its 8 bytes lie inside one of `segments` (already
/// placed at `load_bias`).
pub fn check(
    image: &[u8],
    table: Relocations,
    load_bias: u64,
    segments: &[Segment],
) -> Result<(), RelocError> {
    each(image, table, |index, rela| {
        if rela.r_type() != R_X86_64_RELATIVE {
            return Err(RelocError::UnsupportedType {
                index,
                r_type: rela.r_type(),
            });
        }
        let (guest, _) = rela.value_at(load_bias);
        let inside = |guest: u64| {
            segments.iter().any(|s| {
                guest >= s.guest_phys
                    && guest
                        .checked_add(8)
                        .is_some_and(|end| end <= s.guest_phys.saturating_add(s.memory_bytes))
            })
        };
        match guest {
            Some(guest) if inside(guest) => Ok(()),
            _ => Err(RelocError::OutsideImage {
                index,
                guest: load_bias.wrapping_add(rela.offset),
            }),
        }
    })
}

/// Applies every entry to `memory`, the partition's RAM starting at guest-physical
/// `memory_guest_base`; returns how many were applied. Stops at the first entry that is not
/// `R_X86_64_RELATIVE` or would write outside `memory` (entries before it stay applied).
pub fn apply(
    memory: &mut [u8],
    memory_guest_base: u64,
    image: &[u8],
    table: Relocations,
    load_bias: u64,
) -> Result<u64, RelocError> {
    each(image, table, |index, rela| {
        if rela.r_type() != R_X86_64_RELATIVE {
            return Err(RelocError::UnsupportedType {
                index,
                r_type: rela.r_type(),
            });
        }
        let (guest, value) = rela.value_at(load_bias);
        let outside = RelocError::OutsideImage {
            index,
            guest: load_bias.wrapping_add(rela.offset),
        };
        let target = guest
            .ok_or(outside)?
            .checked_sub(memory_guest_base)
            .and_then(|at| usize::try_from(at).ok())
            .and_then(|at| memory.get_mut(at..at.checked_add(8)?));
        let target = target.ok_or(outside)?;
        target.copy_from_slice(&value.to_le_bytes());
        Ok(())
    })?;
    Ok(table.count)
}

/// Calls `f` on every entry in order; the table must lie inside the load image.
fn each(
    image: &[u8],
    table: Relocations,
    mut f: impl FnMut(u64, Rela) -> Result<(), RelocError>,
) -> Result<(), RelocError> {
    if !table_fits(image, table) {
        return Err(RelocError::TableOutsideImage {
            offset: table.offset,
            count: table.count,
        });
    }
    for index in 0..table.count {
        let rela = entry(image, table, index).ok_or(RelocError::TableOutsideImage {
            offset: table.offset,
            count: table.count,
        })?;
        f(index, rela)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rela(offset: u64, r_type: u32, addend: i64) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(&offset.to_le_bytes());
        out[8..16].copy_from_slice(&u64::from(r_type).to_le_bytes());
        out[16..].copy_from_slice(&addend.to_le_bytes());
        out
    }

    fn table_file(entries: &[[u8; 24]]) -> (std::vec::Vec<u8>, Relocations) {
        let mut bytes = std::vec![0xEE; 8];
        for e in entries {
            bytes.extend_from_slice(e);
        }
        let table = Relocations {
            offset: 8,
            count: entries.len() as u64,
        };
        (bytes, table)
    }

    const SEGMENT: Segment = Segment {
        guest_phys: 0x4_0000,
        offset: 0,
        file_bytes: 0x100,
        memory_bytes: 0x200,
    };

    #[test]
    fn relative_entries_store_bias_plus_addend_at_bias_plus_offset() {
        let (file, table) = table_file(&[rela(0x10, 8, 0x1234), rela(0x1f8, 8, -8)]);
        assert_eq!(check(&file, table, 0x4_0000, &[SEGMENT]), Ok(()));
        let mut memory = std::vec![0u8; 0x8_0000];
        assert_eq!(apply(&mut memory, 0, &file, table, 0x4_0000), Ok(2));
        assert_eq!(memory[0x4_0010..0x4_0018], 0x4_1234u64.to_le_bytes());
        assert_eq!(memory[0x4_01f8..0x4_0200], 0x3_fff8u64.to_le_bytes());
        assert!(memory[..0x4_0010].iter().all(|&b| b == 0));
    }

    #[test]
    fn other_types_and_targets_outside_are_refused() {
        let (file, table) = table_file(&[rela(0x10, 1, 0)]);
        assert_eq!(
            check(&file, table, 0x4_0000, &[SEGMENT]),
            Err(RelocError::UnsupportedType {
                index: 0,
                r_type: 1
            })
        );
        let (file, table) = table_file(&[rela(0x10, 8, 0), rela(0x1f9, 8, 0)]);
        assert_eq!(
            check(&file, table, 0x4_0000, &[SEGMENT]),
            Err(RelocError::OutsideImage {
                index: 1,
                guest: 0x4_01f9
            })
        );
        let mut memory = std::vec![0u8; 0x4_0100];
        let (file, table) = table_file(&[rela(0xfc, 8, 0)]);
        assert_eq!(
            apply(&mut memory, 0, &file, table, 0x4_0000),
            Err(RelocError::OutsideImage {
                index: 0,
                guest: 0x4_00fc
            })
        );
        let (file, table) = table_file(&[rela(u64::MAX, 8, 0)]);
        assert!(
            apply(&mut memory, 0, &file, table, 0x4_0000).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn a_table_past_the_end_of_the_load_image_is_refused() {
        let (file, mut table) = table_file(&[rela(0, 8, 0)]);
        table.count = 2;
        assert_eq!(
            check(&file, table, 0, &[SEGMENT]),
            Err(RelocError::TableOutsideImage {
                offset: 8,
                count: 2
            })
        );
        table.count = u64::MAX;
        assert!(!table_fits(&file, table));
    }
}
