//! Posted-interrupt descriptors and PID-pointer tables shared with the processor through atomics, so
//! safe code may look at them while the processor updates them. Valid table entries can only point at
//! real descriptors.

use super::page::PAGE_BYTES;
use core::sync::atomic::{AtomicU64, Ordering};

/// A posted-interrupt descriptor (SDM 30.6; ipiv.md section 2): PIR, ON, SN, NV, NDST.
#[repr(C, align(64))]
pub struct PostedInterruptDesc {
    pir: [AtomicU64; 4],
    control: AtomicU64,
    reserved: [AtomicU64; 3],
}

/// Bit of the control word (PID bits 319:256): outstanding notification.
pub const PID_ON: u64 = 1 << 0;
/// Bit of the control word: suppress notification.
pub const PID_SN: u64 = 1 << 1;

impl PostedInterruptDesc {
    /// An empty descriptor (put it in a `static`).
    pub const fn new() -> Self {
        Self {
            pir: [const { AtomicU64::new(0) }; 4],
            control: AtomicU64::new(0),
            reserved: [const { AtomicU64::new(0) }; 3],
        }
    }

    /// Physical address (64-byte aligned).
    pub fn phys_addr(&self) -> u64 {
        self as *const Self as u64
    }

    /// Sets NV (notification vector) and NDST (x2APIC host format: full 32-bit APIC ID); clears ON and SN.
    pub fn set_notification(&self, vector: u8, dest_apic_id: u32) {
        let word = (vector as u64) << 16 | (dest_apic_id as u64) << 32;
        self.control.store(word, Ordering::SeqCst);
    }

    /// Whether PIR bit `vector` is set.
    pub fn pir_bit(&self, vector: u8) -> bool {
        self.pir[vector as usize / 64].load(Ordering::SeqCst) & (1 << (vector % 64)) != 0
    }

    /// Clears every PIR bit.
    pub fn clear_pir(&self) {
        self.pir.iter().for_each(|w| w.store(0, Ordering::SeqCst));
    }

    /// The control word (ON bit 0, SN bit 1, NV bits 23:16, NDST bits 63:32).
    pub fn control(&self) -> u64 {
        self.control.load(Ordering::SeqCst)
    }

    /// Sets or clears the bits of `mask` (`PID_ON`, `PID_SN`) in the control word.
    pub fn set_flags(&self, mask: u64, on: bool) {
        let mask = mask & (PID_ON | PID_SN);
        if on {
            self.control.fetch_or(mask, Ordering::SeqCst);
        } else {
            self.control.fetch_and(!mask, Ordering::SeqCst);
        }
    }
}

impl Default for PostedInterruptDesc {
    fn default() -> Self {
        Self::new()
    }
}

/// Entries of one PID-pointer table page (virtual APIC IDs 0..=511).
pub const PID_TABLE_ENTRIES: usize = PAGE_BYTES / 8;
/// Valid bit of a PID-pointer table entry; bits 5:1 are reserved.
pub const PID_ENTRY_VALID: u64 = 1;

/// A one-page PID-pointer table (ipiv.md section 2). Valid entries can only point at real descriptors.
#[repr(C, align(4096))]
pub struct PidTable {
    entries: [AtomicU64; PID_TABLE_ENTRIES],
}

/// Why a raw PID-pointer table entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidTableError {
    IndexOutOfRange(usize),
    /// Bits 5:0 = 000001b would make the processor use the entry as a descriptor address.
    RawEntryWouldBeValid(u64),
}

impl PidTable {
    /// A table with every entry invalid (zero).
    pub const fn new() -> Self {
        Self {
            entries: [const { AtomicU64::new(0) }; PID_TABLE_ENTRIES],
        }
    }

    /// Physical address (4 KiB aligned).
    pub fn phys_addr(&self) -> u64 {
        self as *const Self as u64
    }

    /// Points entry `index` (a virtual APIC ID) at `pid`, valid.
    pub fn set(
        &self,
        index: usize,
        pid: &'static PostedInterruptDesc,
    ) -> Result<(), PidTableError> {
        let entry = self
            .entries
            .get(index)
            .ok_or(PidTableError::IndexOutOfRange(index))?;
        entry.store(pid.phys_addr() | PID_ENTRY_VALID, Ordering::SeqCst);
        Ok(())
    }

    /// Stores a raw value the processor must reject (invalid or reserved bits set), for tests.
    pub fn set_unusable(&self, index: usize, raw: u64) -> Result<(), PidTableError> {
        if raw & 0x3F == PID_ENTRY_VALID {
            return Err(PidTableError::RawEntryWouldBeValid(raw));
        }
        let entry = self
            .entries
            .get(index)
            .ok_or(PidTableError::IndexOutOfRange(index))?;
        entry.store(raw, Ordering::SeqCst);
        Ok(())
    }

    /// The raw entry at `index`.
    pub fn get(&self, index: usize) -> Option<u64> {
        self.entries.get(index).map(|e| e.load(Ordering::SeqCst))
    }
}

impl Default for PidTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_layout_matches_the_sdm() {
        assert_eq!(core::mem::size_of::<PostedInterruptDesc>(), 64);
        assert_eq!(core::mem::align_of::<PostedInterruptDesc>(), 64);
        let pid = PostedInterruptDesc::new();
        pid.set_notification(0xF2, 3);
        assert_eq!(pid.control(), 0x0000_0003_00F2_0000);
        pid.set_flags(PID_SN, true);
        assert_eq!(pid.control() & PID_SN, PID_SN);
        pid.set_flags(PID_SN | (1 << 16), false);
        assert_eq!(pid.control(), 0x0000_0003_00F2_0000);
    }

    #[test]
    fn pid_table_entries() {
        static PID: PostedInterruptDesc = PostedInterruptDesc::new();
        let table = PidTable::new();
        table.set(1, &PID).unwrap();
        assert_eq!(table.get(1), Some(PID.phys_addr() | 1));
        assert_eq!(
            table.set_unusable(2, 0x1001),
            Err(PidTableError::RawEntryWouldBeValid(0x1001))
        );
        assert_eq!(table.set_unusable(2, 0x1003), Ok(()));
        assert_eq!(
            table.set(512, &PID),
            Err(PidTableError::IndexOutOfRange(512))
        );
    }
}
