//! Hooks for the self-test images only (`tests/emulator/vmx-selftest`, `arch-smoke`), behind the
//! `test-hooks` feature, which the hypervisor never enables: they probe the processor's VM-entry
//! rules with control values and table addresses the hypervisor must never write, so they are not
//! part of the trusted API. Direct VMWRITEs here still refuse host-state fields and addresses
//! outside the typed setters, and every address given is a static page or table.

#[cfg(target_os = "none")]
pub mod guests;

pub use super::fields::FieldRefusal;
use super::instr;
use super::page::{Page, PageWriter, PAGE_BYTES};
use super::posted::{descriptor_phys_addr, set_pid_entry, PidTableError};
use super::vmcs::{ActiveVmcs, VmcsError};
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::fields::{
    type_of, width_of, Field16Control as C16, Field64Control as C64, FieldType, FieldWidth,
};
use tessera_vmx::tables::{pid_table_entry_target, PostedInterruptDescriptor};

/// 64-bit control fields that hold values, not addresses, high halves included.
const VALUE_CONTROLS_64: [C64; 10] = [
    C64::TscOffset,
    C64::VmFunctionControls,
    C64::EoiExitBitmap0,
    C64::EoiExitBitmap1,
    C64::EoiExitBitmap2,
    C64::EoiExitBitmap3,
    C64::TscMultiplier,
    C64::TertiaryProcBasedControls,
    C64::SecondaryExitControls,
    C64::GuestDeadlineShadow,
];

/// Whether a self-test may VMWRITE field `encoding` directly (type and width decoded by tessera-vmx).
pub fn check_direct_write(encoding: u32) -> Result<(), FieldRefusal> {
    let field_type = type_of(encoding);
    if field_type == FieldType::HostState {
        return Err(FieldRefusal::HostState(encoding));
    }
    let full = encoding & !1;
    let is_64bit_control =
        field_type == FieldType::Control && width_of(encoding) == FieldWidth::Bits64;
    if is_64bit_control && !VALUE_CONTROLS_64.iter().any(|f| f.encoding() == full) {
        return Err(FieldRefusal::Address(encoding));
    }
    Ok(())
}

/// Fields that take the physical address of a whole page (bitmaps, virtual-APIC, APIC-access).
pub const PAGE_FIELDS: [C64; 6] = [
    C64::IoBitmapA,
    C64::IoBitmapB,
    C64::MsrBitmap,
    C64::VirtualApicAddress,
    C64::ApicAccessAddress,
    C64::VmreadBitmap,
];

impl ActiveVmcs<'_> {
    /// VMWRITE of a control, guest-state or value field (host-state and address fields are refused).
    pub fn write_raw(&mut self, encoding: u32, value: u64) -> Result<(), VmcsError> {
        check_direct_write(encoding).map_err(VmcsError::Refused)?;
        // SAFETY: the field is neither host state nor a physical address (checked above); the
        // self-tests' guests run on the host's page tables by design.
        unsafe { self.write_sensitive(encoding, value) }
    }

    /// Points page field `encoding` (one of `PAGE_FIELDS`) at `page`.
    pub fn set_page(&mut self, encoding: u32, page: &'static Page) -> Result<(), VmcsError> {
        if !PAGE_FIELDS.iter().any(|f| f.encoding() == encoding) {
            return Err(VmcsError::NotAPageField(encoding));
        }
        // SAFETY: `page` is a static page the processor may read and write (volatile access only).
        unsafe { self.write_sensitive(encoding, page.phys_addr()) }
    }

    /// Sets the posted-interrupt notification vector and descriptor address.
    pub fn set_posted_interrupt_descriptor(
        &mut self,
        vector: u8,
        pid: &'static PostedInterruptDescriptor,
    ) -> Result<(), VmcsError> {
        self.write_raw(
            C16::PostedInterruptNotificationVector.encoding(),
            vector as u64,
        )?;
        // SAFETY: `pid` is a static, 64-byte aligned descriptor made of atomics, so the processor's
        // locked updates cannot break Rust's view of it.
        unsafe {
            self.write_sensitive(
                C64::PostedInterruptDescriptor.encoding(),
                descriptor_phys_addr(pid),
            )
        }
    }

    /// Sets the PID-pointer table address and last index to the first `last_index + 1` entries of
    /// the static `table`.
    pub fn set_pid_pointer_table(
        &mut self,
        table: &'static PidTable,
        last_index: u16,
    ) -> Result<(), VmcsError> {
        let entries = usize::from(last_index) + 1;
        if entries > PID_TABLE_ENTRIES {
            return Err(VmcsError::PidTableShape {
                addr: table.phys_addr(),
                entries: PID_TABLE_ENTRIES,
                last_index,
            });
        }
        self.write_raw(C16::LastPidPointerIndex.encoding(), u64::from(last_index))?;
        self.set_pid_table_address(table, 0)
    }

    /// Sets only the PID-pointer table address to `table` plus `offset_bytes`, so tests can check
    /// the VM-entry rule on its alignment. Entries the processor reads there still lie in the
    /// table's page while `offset_bytes + 8 * (last index + 1)` stays within 4096.
    pub fn set_pid_table_address(
        &mut self,
        table: &'static PidTable,
        offset_bytes: u8,
    ) -> Result<(), VmcsError> {
        let addr = table.phys_addr() + offset_bytes as u64;
        // SAFETY: `addr` lies in the static table's page, whose valid entries only point at real
        // descriptors (see above for the bound on the last index).
        unsafe { self.write_sensitive(C64::PidPointerTable.encoding(), addr) }
    }

    /// Sets the EPT pointer to the PML4 `root` with the low 12 bits `flags` (memory type, walk
    /// length, accessed/dirty); the self-test builds the EPT in static pages it owns.
    pub fn set_eptp(&mut self, root: &'static Page, flags: u16) -> Result<(), VmcsError> {
        let eptp = root.phys_addr() | (flags as u64 & 0xFFF);
        // SAFETY: `root` is a static page; what the EPT maps is the self-test's own plan.
        unsafe { self.write_sensitive(C64::Eptp.encoding(), eptp) }
    }

    /// Raw VMREAD of the VM-instruction error after a failed instruction.
    pub fn instruction_error(&self) -> Result<u64, VmcsError> {
        Ok(instr::vmread(instr::VM_INSTRUCTION_ERROR)?)
    }
}

/// Writing a self-test's own static pages (e.g. a virtual-APIC page's IRR).
pub trait PageWrite {
    /// Writes the u32 at `offset_bytes` (4-byte aligned).
    fn store_u32(&self, offset_bytes: usize, value: u32);
    /// The page for tessera-vmx's table builders.
    fn writer(&self) -> PageWriter<'_>;
}

impl PageWrite for Page {
    fn store_u32(&self, offset_bytes: usize, value: u32) {
        self.write_u32(offset_bytes, value)
    }
    fn writer(&self) -> PageWriter<'_> {
        PageWriter::new(self)
    }
}

/// Entries of one PID-pointer table page (virtual APIC IDs 0..=511).
pub const PID_TABLE_ENTRIES: usize = PAGE_BYTES / 8;

/// A one-page static PID-pointer table (ipiv.md section 2) for the self-tests.
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

    /// Points entry `index` (a virtual APIC ID) at `pid`, valid.
    pub fn set(
        &self,
        index: usize,
        pid: &'static PostedInterruptDescriptor,
    ) -> Result<(), PidTableError> {
        set_pid_entry(&self.entries, index, pid)
    }

    /// Stores a raw value the processor must reject (invalid or reserved bits set).
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
    fn guest_state_and_value_controls_are_writable() {
        assert_eq!(check_direct_write(0x681E), Ok(())); // guest RIP
        assert_eq!(check_direct_write(0x4002), Ok(())); // primary controls
        assert_eq!(check_direct_write(0x2034), Ok(())); // tertiary controls
        assert_eq!(check_direct_write(0x2035), Ok(())); // its high half
        assert_eq!(check_direct_write(0x0008), Ok(())); // last PID-pointer index
    }

    #[test]
    fn host_state_and_addresses_are_refused() {
        for (field, refusal) in [
            (0x6C16, FieldRefusal::HostState(0x6C16)), // host RIP
            (0x0C0C, FieldRefusal::HostState(0x0C0C)), // host TR
            (0x2004, FieldRefusal::Address(0x2004)),   // MSR bitmap
            (0x2042, FieldRefusal::Address(0x2042)),   // PID table
            (0x2017, FieldRefusal::Address(0x2017)),   // PID high half
        ] {
            assert_eq!(check_direct_write(field), Err(refusal));
        }
    }
}
