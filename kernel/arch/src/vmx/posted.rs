//! Placing posted-interrupt descriptors for the processor: their physical address (the image is
//! identity-mapped) and PID-pointer tables whose valid entries can only point at real descriptors.
//! The descriptor itself (layout, posting) is tessera-vmx's `PostedInterruptDescriptor`.

use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::tables::{pid_table_entry, PostedInterruptDescriptor};

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
pub(crate) fn set_pid_entry(
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

#[cfg(test)]
mod tests {
    use super::*;

    static PID: PostedInterruptDescriptor = PostedInterruptDescriptor::new(0xF2, 0);

    #[test]
    fn heap_tables_take_entries_by_index() {
        let table = [const { AtomicU64::new(0) }; 3];
        set_pid_entry(&table, 2, &PID).unwrap();
        let raw = table[2].load(Ordering::SeqCst);
        assert_eq!(
            tessera_vmx::tables::pid_table_entry_target(raw),
            Some(descriptor_phys_addr(&PID))
        );
        assert_eq!(
            set_pid_entry(&table, 3, &PID),
            Err(PidTableError::IndexOutOfRange(3))
        );
    }
}
