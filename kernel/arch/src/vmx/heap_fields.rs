//! VMCS address fields for structures carved from the fixed heap: the posted-interrupt descriptor
//! (tessera-vmx's type) and a PID-pointer table of exactly the planned number of entries.

use super::instr;
use super::vmcs::{ActiveVmcs, VmcsError};
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::tables::{pid_table_entry, PostedInterruptDescriptor};

/// Why a PID-pointer table cannot be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidTableFieldError {
    /// The table must be 4 KiB aligned (ipiv.md section 1) and hold `last_index + 1` entries.
    Shape {
        addr: u64,
        entries: usize,
    },
    Vmcs(VmcsError),
}

/// Points PID-pointer table entry `index` of `table` at `pid` (valid bit set).
pub fn set_pid_entry(
    table: &'static [AtomicU64],
    index: usize,
    pid: &'static PostedInterruptDescriptor,
) -> Option<()> {
    let entry = pid_table_entry(pid as *const _ as u64).ok()?;
    table.get(index)?.store(entry, Ordering::SeqCst);
    Some(())
}

impl ActiveVmcs<'_> {
    /// Sets the posted-interrupt notification vector (0x0002) and descriptor address (0x2016).
    pub fn set_posted_interrupt_descriptor(
        &mut self,
        vector: u8,
        pid: &'static PostedInterruptDescriptor,
    ) -> Result<(), VmcsError> {
        self.write(0x0002, vector as u64)?;
        // SAFETY: `pid` is a static, 64-byte aligned descriptor made of atomics, so the processor's
        // locked updates cannot break Rust's view of it.
        Ok(unsafe { instr::vmwrite(0x2016, pid as *const _ as u64) }?)
    }

    /// Sets the PID-pointer table address (0x2042) and last index (0x0008) to `table`, whose every
    /// entry is zero or was set by `set_pid_entry` (so a valid entry only points at a descriptor).
    pub fn set_pid_pointer_table(
        &mut self,
        table: &'static [AtomicU64],
    ) -> Result<(), PidTableFieldError> {
        let addr = table.as_ptr() as u64;
        if table.is_empty() || table.len() > 1 << 16 || !addr.is_multiple_of(4096) {
            return Err(PidTableFieldError::Shape {
                addr,
                entries: table.len(),
            });
        }
        self.write(0x0008, table.len() as u64 - 1)
            .map_err(PidTableFieldError::Vmcs)?;
        // SAFETY: `table` is static, 4 KiB aligned, `len` entries of atomics the processor only reads.
        unsafe { instr::vmwrite(0x2042, addr) }.map_err(|e| PidTableFieldError::Vmcs(e.into()))
    }
}
