//! Placing posted-interrupt descriptors for the processor: their physical address (the image is
//! identity-mapped) and PID-pointer tables whose valid entries can only point at real descriptors.
//! The descriptor itself (layout, posting) is tessera-vmx's `PostedInterruptDescriptor`.

use super::page::PAGE_BYTES;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::tables::{pid_table_entry, pid_table_entry_target, PostedInterruptDescriptor};

/// Entries of one PID-pointer table page (virtual APIC IDs 0..=511).
pub const PID_TABLE_ENTRIES: usize = PAGE_BYTES / 8;

/// Physical address of a descriptor (Tessera runs on an identity map, so it is its address).
pub fn descriptor_phys_addr(pid: &PostedInterruptDescriptor) -> u64 {
    pid as *const PostedInterruptDescriptor as u64
}

/// Why a PID-pointer table entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidTableError {
    IndexOutOfRange(usize),
    /// The descriptor is not 64-byte aligned (cannot happen for the type; kept for the entry rule).
    NotAligned(u64),
    /// Bits 5:0 = 000001b would make the processor use the entry as a descriptor address.
    RawEntryWouldBeValid(u64),
}

/// Points entry `index` (a virtual APIC ID) of `table` at `pid`, valid.
pub fn set_pid_entry(
    table: &[AtomicU64],
    index: usize,
    pid: &'static PostedInterruptDescriptor,
) -> Result<(), PidTableError> {
    let entry = pid_table_entry(descriptor_phys_addr(pid))
        .map_err(|e| PidTableError::NotAligned(e.pid_phys))?;
    let slot = table
        .get(index)
        .ok_or(PidTableError::IndexOutOfRange(index))?;
    slot.store(entry, Ordering::SeqCst);
    Ok(())
}

/// A one-page static PID-pointer table (ipiv.md section 2), for images without the fixed heap.
#[repr(C, align(4096))]
pub struct PidTable {
    entries: [AtomicU64; PID_TABLE_ENTRIES],
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

    /// Entries `0..=last_index` (all 512 if `last_index` is beyond the page), for
    /// `ActiveVmcs::set_pid_pointer_table`.
    pub fn up_to(&'static self, last_index: u16) -> &'static [AtomicU64] {
        let len = (usize::from(last_index) + 1).min(PID_TABLE_ENTRIES);
        &self.entries[..len]
    }

    /// Points entry `index` (a virtual APIC ID) at `pid`, valid.
    pub fn set(
        &self,
        index: usize,
        pid: &'static PostedInterruptDescriptor,
    ) -> Result<(), PidTableError> {
        set_pid_entry(&self.entries, index, pid)
    }

    /// Stores a raw value the processor must reject (invalid or reserved bits set), for tests.
    pub fn set_unusable(&self, index: usize, raw: u64) -> Result<(), PidTableError> {
        if pid_table_entry_target(raw).is_some() {
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

    static PID: PostedInterruptDescriptor = PostedInterruptDescriptor::new(0xF2, 0);

    #[test]
    fn pid_table_entries() {
        let table = PidTable::new();
        table.set(1, &PID).unwrap();
        assert_eq!(table.get(1), Some(descriptor_phys_addr(&PID) | 1));
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

    #[test]
    fn heap_tables_take_entries_by_index() {
        let table = [const { AtomicU64::new(0) }; 3];
        set_pid_entry(&table, 2, &PID).unwrap();
        let raw = table[2].load(Ordering::SeqCst);
        assert_eq!(
            pid_table_entry_target(raw),
            Some(descriptor_phys_addr(&PID))
        );
        assert_eq!(
            set_pid_entry(&table, 3, &PID),
            Err(PidTableError::IndexOutOfRange(3))
        );
    }

    #[test]
    fn static_table_slices_follow_the_last_index() {
        static TABLE: PidTable = PidTable::new();
        assert_eq!(TABLE.up_to(3).len(), 4);
        assert_eq!(TABLE.up_to(u16::MAX).len(), PID_TABLE_ENTRIES);
        assert_eq!(TABLE.up_to(0).as_ptr() as u64, TABLE.phys_addr());
    }
}
