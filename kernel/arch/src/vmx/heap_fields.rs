//! VMCS address fields of posted interrupts: the descriptor (tessera-vmx's type, carved from the
//! fixed heap or static) and a PID-pointer table of exactly the planned number of entries.

use super::instr;
use super::posted::descriptor_phys_addr;
pub use super::posted::set_pid_entry;
use super::vmcs::{ActiveVmcs, VmcsError};
use core::sync::atomic::AtomicU64;
use tessera_vmx::tables::PostedInterruptDescriptor;

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
        Ok(unsafe { instr::vmwrite(0x2016, descriptor_phys_addr(pid)) }?)
    }

    /// Sets the PID-pointer table address (0x2042) and last index (0x0008, the plan's
    /// `last_index`) to `table`, whose every entry is zero or was set by `set_pid_entry` (so a valid
    /// entry only points at a descriptor). `table` must have exactly `last_index + 1` entries: the
    /// processor reads every entry up to `last_index`.
    pub fn set_pid_pointer_table(
        &mut self,
        table: &'static [AtomicU64],
        last_index: u16,
    ) -> Result<(), VmcsError> {
        let addr = table.as_ptr() as u64;
        if table.len() != usize::from(last_index) + 1 || !addr.is_multiple_of(4096) {
            return Err(VmcsError::PidTableShape {
                addr,
                entries: table.len(),
                last_index,
            });
        }
        self.write(0x0008, u64::from(last_index))?;
        // SAFETY: `table` is static, 4 KiB aligned, `last_index + 1` entries of atomics the processor
        // only reads.
        Ok(unsafe { instr::vmwrite(0x2042, addr) }?)
    }
}
