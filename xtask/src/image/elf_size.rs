//! How much memory the hypervisor ELF occupies once loaded (its PT_LOAD segments: code, data,
//! the fixed heap and the embedded guest images), for the image report.

use object::elf::{FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

/// Bytes of the loadable segments: (in memory, from the file).
pub fn loaded_bytes(elf: &[u8]) -> Result<(u64, u64), String> {
    let e = LittleEndian;
    let header = FileHeader64::<LittleEndian>::parse(elf).map_err(|x| x.to_string())?;
    let segments = header.program_headers(e, elf).map_err(|x| x.to_string())?;
    let loadable = segments.iter().filter(|p| p.p_type(e) == PT_LOAD);
    Ok(loadable.fold((0, 0), |(memory, file), p| {
        (memory + p.p_memsz(e), file + p.p_filesz(e))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 x86-64 file with the given (type, file bytes, memory bytes) segments.
    fn elf(segments: &[(u32, u64, u64)]) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4..7].copy_from_slice(&[2, 1, 1]);
        out[16..18].copy_from_slice(&2u16.to_le_bytes());
        out[18..20].copy_from_slice(&62u16.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[32..40].copy_from_slice(&64u64.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for &(kind, file, memory) in segments {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&kind.to_le_bytes());
            ph[32..40].copy_from_slice(&file.to_le_bytes());
            ph[40..48].copy_from_slice(&memory.to_le_bytes());
            out.extend_from_slice(&ph);
        }
        out
    }

    #[test]
    fn only_loadable_segments_count() {
        let note = 4;
        let file = elf(&[
            (PT_LOAD, 0x100, 0x100),
            (note, 0x40, 0x40),
            (PT_LOAD, 0x10, 0x2000),
        ]);
        assert_eq!(loaded_bytes(&file), Ok((0x2100, 0x110)));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(loaded_bytes(b"not an ELF file at all, but long enough to look at").is_err());
    }
}
