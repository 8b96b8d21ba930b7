//! Reader of the Multiboot2 boot information: memory map, ACPI RSDP, command line.

use core::sync::atomic::{AtomicU64, Ordering};

/// Value of EAX when a Multiboot2 loader enters the image.
pub const BOOTLOADER_MAGIC: u32 = 0x36D7_6289;

const TAG_END: u32 = 0;
const TAG_CMDLINE: u32 = 1;
const TAG_MEMORY_MAP: u32 = 6;
const TAG_RSDP_V1: u32 = 14;
const TAG_RSDP_V2: u32 = 15;

/// Memory-map entry type of usable RAM.
pub const MEMORY_AVAILABLE: u32 = 1;

/// One entry of the loader's memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegion {
    pub base: u64,
    pub length_bytes: u64,
    /// 1 available, 2 reserved, 3 ACPI reclaimable, 4 NVS, 5 bad.
    pub kind: u32,
}

/// The boot information block handed over by the loader.
#[derive(Clone, Copy)]
pub struct BootInfo {
    bytes: &'static [u8],
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u32_at(bytes, offset)? as u64 | (u32_at(bytes, offset + 4)? as u64) << 32)
}

impl BootInfo {
    /// Wraps a boot information block (its first u32 is its total size); `None` if the size is wrong.
    pub fn from_bytes(bytes: &'static [u8]) -> Option<Self> {
        let total = u32_at(bytes, 0)? as usize;
        (total >= 16 && total <= bytes.len()).then(|| Self {
            bytes: &bytes[..total],
        })
    }

    /// Physical address and size of the block.
    pub fn range(&self) -> (u64, u64) {
        (self.bytes.as_ptr() as u64, self.bytes.len() as u64)
    }

    /// Every tag as (type, payload after the 8-byte tag header).
    pub fn tags(&self) -> impl Iterator<Item = (u32, &'static [u8])> {
        let bytes = self.bytes;
        let mut offset = 8usize;
        core::iter::from_fn(move || {
            let kind = u32_at(bytes, offset)?;
            let size = u32_at(bytes, offset + 4)? as usize;
            if kind == TAG_END || size < 8 || offset + size > bytes.len() {
                return None;
            }
            let payload = &bytes[offset + 8..offset + size];
            offset += (size + 7) & !7;
            Some((kind, payload))
        })
    }

    fn tag(&self, kind: u32) -> Option<&'static [u8]> {
        self.tags().find(|(k, _)| *k == kind).map(|(_, p)| p)
    }

    /// The memory map (empty if the loader gave none).
    pub fn memory_map(&self) -> impl Iterator<Item = MemoryRegion> + Clone + '_ {
        let payload = self.tag(TAG_MEMORY_MAP).unwrap_or(&[]);
        let entry_bytes = u32_at(payload, 0).unwrap_or(24).max(24) as usize;
        let entries = payload.get(8..).unwrap_or(&[]);
        entries.chunks_exact(entry_bytes).map(|e| MemoryRegion {
            base: u64_at(e, 0).unwrap_or(0),
            length_bytes: u64_at(e, 8).unwrap_or(0),
            kind: u32_at(e, 16).unwrap_or(0),
        })
    }

    /// Total bytes of RAM the memory map reports as available.
    pub fn available_bytes(&self) -> u64 {
        self.memory_map()
            .filter(|r| r.kind == MEMORY_AVAILABLE)
            .map(|r| r.length_bytes)
            .sum()
    }

    /// Address of the loader's copy of the ACPI RSDP (version 2 preferred), for the `acpi` crate.
    pub fn rsdp_addr(&self) -> Option<u64> {
        let payload = self.tag(TAG_RSDP_V2).or_else(|| self.tag(TAG_RSDP_V1))?;
        payload
            .starts_with(b"RSD PTR ")
            .then_some(payload.as_ptr() as u64)
    }

    /// The kernel command line given by the loader.
    pub fn command_line(&self) -> Option<&'static str> {
        let payload = self.tag(TAG_CMDLINE)?;
        let text = payload.split(|&b| b == 0).next()?;
        core::str::from_utf8(text).ok()
    }
}

static INFO_START: AtomicU64 = AtomicU64::new(0);
static INFO_BYTES: AtomicU64 = AtomicU64::new(0);

/// Reads the block at `phys` (identity mapped), as handed over by the loader at boot.
#[cfg(target_os = "none")]
pub(crate) fn from_loader(phys: u64) -> Option<BootInfo> {
    // SAFETY: the loader passes the physical address of its information block, which is identity mapped;
    // its first u32 is the total size.
    let total = unsafe { core::ptr::read_volatile(phys as *const u32) } as usize;
    // SAFETY: the block spans `total` bytes and Tessera never writes it (the trampoline checks overlap).
    let bytes = unsafe { core::slice::from_raw_parts(phys as *const u8, total) };
    let info = BootInfo::from_bytes(bytes)?;
    INFO_START.store(phys, Ordering::Relaxed);
    INFO_BYTES.store(total as u64, Ordering::Relaxed);
    Some(info)
}

/// Whether the boot information block overlaps `[start, start + bytes)`.
pub fn boot_info_overlaps(start: u64, bytes: u64) -> bool {
    let info_start = INFO_START.load(Ordering::Relaxed);
    let info_end = info_start + INFO_BYTES.load(Ordering::Relaxed);
    info_start < start + bytes && start < info_end
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn tag(kind: u32, payload: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&(8 + payload.len() as u32).to_le_bytes());
        t.extend_from_slice(payload);
        while t.len() % 8 != 0 {
            t.push(0);
        }
        t
    }

    fn sample() -> &'static [u8] {
        let mut mmap = Vec::new();
        mmap.extend_from_slice(&24u32.to_le_bytes());
        mmap.extend_from_slice(&0u32.to_le_bytes());
        for (base, len, kind) in [
            (0u64, 0x9_F000u64, 1u32),
            (0x10_0000, 0xFF0_0000, 1),
            (0xF_0000, 0x1_0000, 2),
        ] {
            mmap.extend_from_slice(&base.to_le_bytes());
            mmap.extend_from_slice(&len.to_le_bytes());
            mmap.extend_from_slice(&kind.to_le_bytes());
            mmap.extend_from_slice(&0u32.to_le_bytes());
        }
        let mut body = Vec::new();
        body.extend(tag(TAG_CMDLINE, b"quiet\0"));
        body.extend(tag(TAG_MEMORY_MAP, &mmap));
        body.extend(tag(TAG_RSDP_V1, b"RSD PTR \x00\x01"));
        body.extend(tag(TAG_END, &[]));
        let mut all = Vec::new();
        all.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
        all.extend_from_slice(&0u32.to_le_bytes());
        all.extend(body);
        all.leak()
    }

    #[test]
    fn reads_memory_map_rsdp_and_command_line() {
        let info = BootInfo::from_bytes(sample()).expect("valid block");
        assert_eq!(info.memory_map().count(), 3);
        assert_eq!(info.available_bytes(), 0x9_F000 + 0xFF0_0000);
        assert_eq!(info.command_line(), Some("quiet"));
        let rsdp = info.rsdp_addr().expect("rsdp tag");
        assert_eq!(rsdp, info.tag(TAG_RSDP_V1).unwrap().as_ptr() as u64);
    }

    #[test]
    fn rejects_truncated_block() {
        let bytes = sample();
        assert!(BootInfo::from_bytes(&bytes[..bytes.len() - 8]).is_none());
        assert!(BootInfo::from_bytes(&[4, 0, 0, 0]).is_none());
    }
}
