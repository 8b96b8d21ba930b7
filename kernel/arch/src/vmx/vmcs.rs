//! A VMCS, the token for the current one (`ActiveVmcs`), its field access (typed setters for
//! insensitive fields, one `unsafe` entry point for the others), host state and guest entry.

use super::fields::{is_guest_state, RuntimeControl, SafeField};
use super::instr::{self, VmFail};
#[cfg(target_os = "none")]
use super::run::GuestRegisters;
use super::VmcsRegion;
use super::VmxRoot;
use core::marker::PhantomData;

/// A VMCS region (one page, revision ID in its first word).
pub struct Vmcs {
    region: VmcsRegion,
}

impl Vmcs {
    /// Makes `region` a VMCS for the processor's VMCS revision (from `VmxRoot::revision_id`).
    pub fn new(region: VmcsRegion, revision_id: u32) -> Self {
        region.page().write_u32(0, revision_id & 0x7FFF_FFFF);
        Self { region }
    }

    /// Physical address of the region.
    pub fn phys_addr(&self) -> u64 {
        self.region.phys_addr()
    }
}

/// Why a VMCS operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmcsError {
    Instruction(VmFail),
    /// No MSR bitmap of the kind asked for was installed in this VMCS (`pass_tsc_deadline`).
    NoMsrBitmap,
    /// Safe code wrote a field that is not guest state (`write_guest_state`).
    NotGuestState(u32),
    #[cfg(feature = "test-hooks")]
    Refused(super::fields::FieldRefusal),
    #[cfg(feature = "test-hooks")]
    NotAPageField(u32),
    #[cfg(feature = "test-hooks")]
    PidTableShape {
        addr: u64,
        entries: usize,
        last_index: u16,
    },
}

impl core::fmt::Display for VmcsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            VmcsError::Instruction(e) => write!(f, "{e}"),
            VmcsError::NoMsrBitmap => {
                f.write_str("no such MSR bitmap was installed in this VMCS by configure")
            }
            VmcsError::NotGuestState(field) => {
                write!(f, "field {field:#x} is not a guest-state field")
            }
            #[cfg(feature = "test-hooks")]
            VmcsError::Refused(refusal) => write!(f, "field refused: {refusal:?}"),
            #[cfg(feature = "test-hooks")]
            VmcsError::NotAPageField(field) => {
                write!(f, "field {field:#x} is not a page-address field")
            }
            #[cfg(feature = "test-hooks")]
            VmcsError::PidTableShape {
                addr,
                entries,
                last_index,
            } => write!(
                f,
                "PID-pointer table at {addr:#x} with {entries} entries for last index {last_index}"
            ),
        }
    }
}

impl From<VmFail> for VmcsError {
    fn from(e: VmFail) -> Self {
        VmcsError::Instruction(e)
    }
}

/// Proof that `vmcs` is the current VMCS of this CPU (VMCLEAR + VMPTRLD done).
pub struct ActiveVmcs<'a> {
    vmcs: &'a mut Vmcs,
    launched: bool,
    /// The MSR bitmaps `configure` installed: the only ones `pass_tsc_deadline` may select.
    pub(super) msr_bitmaps: Option<super::MsrBitmaps>,
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
            msr_bitmaps: None,
            _root: PhantomData,
        })
    }
}

impl ActiveVmcs<'_> {
    /// VMREAD of field `encoding` (reading has no side effect).
    #[inline]
    pub fn read(&self, encoding: u32) -> Result<u64, VmcsError> {
        Ok(instr::vmread(encoding)?)
    }

    /// VMWRITE of an insensitive field (guest state, event injection, guest timer values), its
    /// width in the value's type.
    #[inline]
    pub fn write<F: SafeField>(&mut self, field: F, value: F::Value) -> Result<(), VmcsError> {
        // SAFETY: `SafeField` is sealed to guest-state fields and controls that only describe
        // the next entry: no address, no host state, no execution control.
        Ok(unsafe { instr::vmwrite(field.encoding(), value.into()) }?)
    }

    /// VMWRITE of guest-state field `encoding`, for fields chosen by data (tessera-vmx's guest
    /// state, the MSR policy's emulated MSRs); any other field is refused.
    #[inline]
    pub fn write_guest_state(&mut self, encoding: u32, value: u64) -> Result<(), VmcsError> {
        if !is_guest_state(encoding) {
            return Err(VmcsError::NotGuestState(encoding));
        }
        // SAFETY: a guest-state field (checked above) only changes what the guest sees.
        Ok(unsafe { instr::vmwrite(encoding, value) }?)
    }

    /// Sets or clears one of the control bits a running vCPU changes (`RuntimeControl`).
    #[inline]
    pub fn set_control(&mut self, control: RuntimeControl, on: bool) -> Result<(), VmcsError> {
        let (field, bit) = control.field_and_bit();
        let word = self.read(field)?;
        let word = if on { word | bit } else { word & !bit };
        // SAFETY: only the bit of `control` changes, and none of them makes the processor use
        // memory or reach hardware: each decides when the guest exits.
        Ok(unsafe { instr::vmwrite(field, word) }?)
    }

    /// VMWRITE of any field: the one entry point for sensitive fields (execution, exit and entry
    /// controls, addresses, host state), used by `configure`, `set_host_state` and the self-test
    /// images' hooks.
    ///
    /// # Safety
    /// The value must keep Rust's guarantees and the partition's isolation: an address field
    /// points at memory of the right size and alignment that nothing else writes while the
    /// processor may use it (a sealed table, a static descriptor); the controls leave EPT, the I/O
    /// and MSR bitmaps (with x2APIC virtualization) and external-interrupt exiting on, and turn
    /// on no feature whose address field was not written; host state returns to `enter`'s stub on
    /// this CPU's own stacks and tables.
    #[inline]
    pub unsafe fn write_sensitive(&mut self, encoding: u32, value: u64) -> Result<(), VmcsError> {
        // SAFETY: the caller upholds the contract above; VMWRITE touches only the current VMCS.
        Ok(unsafe { instr::vmwrite(encoding, value) }?)
    }

    /// Writes every host-state field from the calling CPU's current state (exit lands in `run`'s stub).
    #[cfg(target_os = "none")]
    pub fn set_host_state(&mut self) -> Result<(), VmcsError> {
        for (encoding, value) in super::host::host_state() {
            // SAFETY: the values are this CPU's own control registers, selectors, tables and the exit
            // stub, so a VM exit resumes the host exactly where `enter` left it.
            unsafe { self.write_sensitive(encoding, value) }?;
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
