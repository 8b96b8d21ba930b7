//! A VMCS, the token for the current one (`ActiveVmcs`), its field access, host state and guest entry.

use super::fields::{check_direct_write, FieldRefusal};
use super::instr::{self, VmFail};
#[cfg(target_os = "none")]
use super::run::GuestRegisters;
use super::VmxRoot;
use super::{Page, PidTable};
use core::marker::PhantomData;

/// A VMCS region (one page, revision ID in its first word).
pub struct Vmcs {
    page: &'static Page,
}

impl Vmcs {
    /// Makes `page` a VMCS region for the processor's VMCS revision (from `VmxRoot::revision_id`).
    pub fn new(page: &'static Page, revision_id: u32) -> Self {
        page.write_u32(0, revision_id & 0x7FFF_FFFF);
        Self { page }
    }

    /// Physical address of the region.
    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}

/// Why a VMCS operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmcsError {
    Instruction(VmFail),
    Refused(FieldRefusal),
    /// Page and descriptor fields need 4 KiB-aligned pages (checked by type) and known field numbers.
    NotAPageField(u32),
    /// A PID-pointer table must be 4 KiB aligned (ipiv.md section 1) with `last_index + 1`
    /// entries (so 1..=65536).
    PidTableShape {
        addr: u64,
        entries: usize,
        last_index: u16,
    },
}

impl From<VmFail> for VmcsError {
    fn from(e: VmFail) -> Self {
        VmcsError::Instruction(e)
    }
}

/// Fields that take the physical address of a whole page (bitmaps, virtual-APIC, APIC-access).
pub const PAGE_FIELDS: [u32; 6] = [0x2000, 0x2002, 0x2004, 0x2012, 0x2014, 0x2026];

/// Proof that `vmcs` is the current VMCS of this CPU (VMCLEAR + VMPTRLD done).
pub struct ActiveVmcs<'a> {
    vmcs: &'a mut Vmcs,
    launched: bool,
    _root: PhantomData<&'a VmxRoot>,
}

impl VmxRoot {
    /// Clears `vmcs` and makes it current on this CPU.
    pub fn activate<'a>(&'a self, vmcs: &'a mut Vmcs) -> Result<ActiveVmcs<'a>, VmcsError> {
        // SAFETY: `vmcs` is a VMCS region initialized with the revision ID and exclusively borrowed.
        unsafe {
            instr::vmclear(vmcs.phys_addr())?;
            instr::vmptrld(vmcs.phys_addr())?;
        }
        Ok(ActiveVmcs {
            vmcs,
            launched: false,
            _root: PhantomData,
        })
    }
}

impl ActiveVmcs<'_> {
    /// VMREAD of field `encoding`.
    #[inline]
    pub fn read(&self, encoding: u32) -> Result<u64, VmcsError> {
        Ok(instr::vmread(encoding)?)
    }

    /// VMWRITE of a control, guest-state or value field (host-state and address fields are refused).
    #[inline]
    pub fn write(&mut self, encoding: u32, value: u64) -> Result<(), VmcsError> {
        check_direct_write(encoding).map_err(VmcsError::Refused)?;
        // SAFETY: the field is neither host state nor a physical address (checked above).
        Ok(unsafe { instr::vmwrite(encoding, value) }?)
    }

    /// Points page field `encoding` (one of `PAGE_FIELDS`) at `page`.
    pub fn set_page(&mut self, encoding: u32, page: &'static Page) -> Result<(), VmcsError> {
        if !PAGE_FIELDS.contains(&encoding) {
            return Err(VmcsError::NotAPageField(encoding));
        }
        // SAFETY: `page` is a static page the processor may read and write (volatile/atomic access only).
        Ok(unsafe { instr::vmwrite(encoding, page.phys_addr()) }?)
    }

    /// Sets only the PID-pointer table address (0x2042) to `table` plus `offset_bytes`, so tests can
    /// check the VM-entry rule on its alignment. Entries the processor reads there still lie in the
    /// table's page (valid ones point at real descriptors) while `offset_bytes + 8 * (last index + 1)`
    /// stays within 4096.
    pub fn set_pid_table_address(
        &mut self,
        table: &'static PidTable,
        offset_bytes: u8,
    ) -> Result<(), VmcsError> {
        let addr = table.phys_addr() + offset_bytes as u64;
        // SAFETY: `addr` lies in the static table's page, whose valid entries only point at real
        // descriptors (see above for the bound on the last index).
        Ok(unsafe { instr::vmwrite(0x2042, addr) }?)
    }

    /// Sets the EPT pointer (0x201A) to the PML4 `root` with the low 12 bits `flags` (memory type, walk
    /// length, accessed/dirty); the caller builds the EPT tables in pages it owns.
    pub fn set_eptp(&mut self, root: &'static Page, flags: u16) -> Result<(), VmcsError> {
        let eptp = root.phys_addr() | (flags as u64 & 0xFFF);
        // SAFETY: `root` is a static page; what the EPT maps is the caller's partition plan.
        Ok(unsafe { instr::vmwrite(0x201A, eptp) }?)
    }

    /// Writes every host-state field from the calling CPU's current state (exit lands in `run`'s stub).
    #[cfg(target_os = "none")]
    pub fn set_host_state(&mut self) -> Result<(), VmcsError> {
        for (encoding, value) in super::host::host_state() {
            // SAFETY: the values are this CPU's own control registers, selectors, tables and the exit
            // stub, so a VM exit resumes the host exactly where `enter` left it.
            unsafe { instr::vmwrite(encoding, value) }?;
        }
        Ok(())
    }

    /// Runs the guest until the next VM exit (VMLAUNCH the first time, VMRESUME afterwards).
    /// `Err` means the entry itself failed (e.g. `VmFail::Valid(7)`: invalid control fields).
    #[cfg(target_os = "none")]
    pub fn enter(&mut self, regs: &mut GuestRegisters) -> Result<(), VmcsError> {
        // SAFETY: the host state was written by `set_host_state` (the exit stub restores the callee-saved
        // registers and returns here); guest memory access is bounded by the controls the caller chose.
        let outcome = unsafe { super::run::tessera_vmx_enter(regs, self.launched as u64) };
        match outcome {
            super::run::ENTER_EXITED => {
                self.launched = true;
                Ok(())
            }
            super::run::ENTER_FAIL_VALID => {
                Err(VmFail::Valid(self.read(instr::VM_INSTRUCTION_ERROR)? as u32).into())
            }
            super::run::ENTER_FAIL_INVALID => Err(VmFail::Invalid.into()),
            other => unreachable!("tessera_vmx_enter returned {other}"),
        }
    }

    /// The VMCS this token is for.
    pub fn vmcs(&self) -> &Vmcs {
        self.vmcs
    }
}
