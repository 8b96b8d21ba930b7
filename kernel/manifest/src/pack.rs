//! The load image the hypervisor embeds for a partition: the file contents of an ELF's `PT_LOAD`
//! segments, one after the other in program-header order, without the ELF and program headers,
//! section headers or the padding that aligns segments in the file. Each planned
//! [`Segment`](crate::plan::Segment) names its offset in these bytes; a Hermit application's
//! relocation table, which lies inside a segment's file contents, is found the same way.

/// One `PT_LOAD` segment as the ELF file describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSegment {
    /// Where the segment lies in guest-physical memory (a Hermit application's before its bias).
    pub address: u64,
    /// `p_offset`: where its file contents start in the ELF file.
    pub file_offset: u64,
    /// `p_filesz`.
    pub file_bytes: u64,
    /// `p_memsz`.
    pub memory_bytes: u64,
}

/// Why the segments cannot be packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackError {
    /// Segment `index` (in program-header order) has file contents past the end of the file.
    OutsideFile { index: usize },
    /// Segment `index` has more file bytes than memory bytes.
    LongerThanMemory { index: usize },
}

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackError::OutsideFile { index } => {
                write!(f, "PT_LOAD segment {index} points outside the file")
            }
            PackError::LongerThanMemory { index } => write!(
                f,
                "PT_LOAD segment {index} has more file bytes than memory bytes"
            ),
        }
    }
}

/// The packed bytes of `segments` from `file`, and where each segment's contents start in them.
pub fn pack(file: &[u8], segments: &[FileSegment]) -> Result<Packed, PackError> {
    let mut bytes = Vec::with_capacity(segments.iter().map(|s| s.file_bytes as usize).sum());
    let mut offsets = Vec::with_capacity(segments.len());
    for (index, s) in segments.iter().enumerate() {
        if s.file_bytes > s.memory_bytes {
            return Err(PackError::LongerThanMemory { index });
        }
        let contents = usize::try_from(s.file_offset)
            .ok()
            .zip(usize::try_from(s.file_bytes).ok())
            .and_then(|(from, length)| file.get(from..from.checked_add(length)?))
            .ok_or(PackError::OutsideFile { index })?;
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(contents);
    }
    Ok(Packed { bytes, offsets })
}

/// The packed load image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub bytes: Vec<u8>,
    /// Offset in `bytes` of each segment's contents, in the order given to [`pack`].
    pub offsets: Vec<u64>,
}

impl Packed {
    /// Where the `bytes` file-content bytes at segment address `address` (before any bias) lie in
    /// the packed bytes: `None` unless one segment's file contents hold all of them.
    pub fn offset_of(&self, segments: &[FileSegment], address: u64, bytes: u64) -> Option<u64> {
        segments
            .iter()
            .zip(&self.offsets)
            .find(|(s, _)| {
                let inside = address.checked_sub(s.address);
                inside.is_some_and(|at| {
                    at < s.file_bytes
                        && at.checked_add(bytes).is_some_and(|end| end <= s.file_bytes)
                })
            })
            .map(|(s, &at)| at + (address - s.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(address: u64, file_offset: u64, file_bytes: u64, memory_bytes: u64) -> FileSegment {
        FileSegment {
            address,
            file_offset,
            file_bytes,
            memory_bytes,
        }
    }

    /// A file with a 0x100-byte header, then 0xAA bytes of text at 0x100, padding, 0xBB data at
    /// 0x200.
    fn file() -> Vec<u8> {
        let mut f = vec![0u8; 0x240];
        f[0x100..0x130].fill(0xAA);
        f[0x200..0x210].fill(0xBB);
        f
    }

    #[test]
    fn only_the_file_contents_of_the_segments_are_kept_in_order() {
        let segments = [
            segment(0x10_0000, 0x100, 0x30, 0x30),
            segment(0x10_1000, 0x200, 0x10, 0x800),
            segment(0x10_2000, 0x240, 0, 0x1000),
        ];
        let packed = pack(&file(), &segments).unwrap();
        assert_eq!(packed.bytes.len(), 0x40, "no header, no padding");
        assert!(packed.bytes[..0x30].iter().all(|&b| b == 0xAA));
        assert!(packed.bytes[0x30..].iter().all(|&b| b == 0xBB));
        assert_eq!(
            packed.offsets,
            [0, 0x30, 0x40],
            "a .bss-only segment is empty"
        );
        assert_eq!(packed.offset_of(&segments, 0x10_1008, 8), Some(0x38));
        assert_eq!(packed.offset_of(&segments, 0x10_0000, 0x30), Some(0));
        assert_eq!(
            packed.offset_of(&segments, 0x10_0000, 0x31),
            None,
            "runs past its segment's contents into the next one's"
        );
        assert_eq!(
            packed.offset_of(&segments, 0x10_1010, 1),
            None,
            "past the file contents (zero-filled memory)"
        );
        assert_eq!(packed.offset_of(&segments, 0x10_2000, 0), None);
        assert_eq!(packed.offset_of(&segments, 0xF_FFFF, 1), None);
    }

    #[test]
    fn a_segment_past_the_end_of_the_file_is_refused_by_index() {
        let segments = [
            segment(0x10_0000, 0x100, 0x30, 0x30),
            segment(0x10_1000, 0x200, 0x41, 0x41),
        ];
        assert_eq!(
            pack(&file(), &segments),
            Err(PackError::OutsideFile { index: 1 })
        );
        let overflowing = [segment(0, u64::MAX, 2, 2)];
        assert_eq!(
            pack(&file(), &overflowing),
            Err(PackError::OutsideFile { index: 0 })
        );
        assert_eq!(
            PackError::OutsideFile { index: 1 }.to_string(),
            "PT_LOAD segment 1 points outside the file"
        );
    }

    #[test]
    fn a_segment_with_more_file_than_memory_bytes_is_refused() {
        let segments = [segment(0x10_0000, 0x100, 0x30, 0x20)];
        assert_eq!(
            pack(&file(), &segments),
            Err(PackError::LongerThanMemory { index: 0 })
        );
    }
}
