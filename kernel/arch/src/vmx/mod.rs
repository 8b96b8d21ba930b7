//! VMX operation: capability MSRs, entering VMX root (CR4.VMXE, IA32_FEATURE_CONTROL, VMXON), VMCS
//! access and guest entry/exit.

mod configure;
pub mod fields;
#[cfg(target_os = "none")]
mod host;
mod instr;
mod page;
mod posted;
mod regions;
mod run;
mod tables;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
mod vmcs;

pub use configure::{check_isolation, ConfigureError, VcpuTables};
pub use fields::{RuntimeControl, SafeField};
pub use instr::VmFail;
pub use page::{Page, PagePool, PageWriter, PAGE_BYTES};
pub use posted::{descriptor_phys_addr, PidTableError};
pub use regions::{
    EptPages, IoBitmapRegions, MsrBitmapRegion, PageRegion, Token, VirtualApicRegion, VmcsRegion,
    VmxonRegion,
};
pub use run::GuestRegisters;
pub use tables::{
    Ept, IoBitmapPair, MsrBitmapPage, MsrBitmaps, PidPointerTable, PidTableMemory, TableError,
    TscDeadline, VirtualApicPage,
};
pub use vmcs::{ActiveVmcs, Vmcs, VmcsError};

use crate::msr;
use core::marker::PhantomData;
use tessera_vmx::msr as m;
use tessera_vmx::select::CapabilityMsrs;
use x86_64::registers::control::{Cr0, Cr4};

/// Why VMX root operation could not be entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmxError {
    /// CPUID.01H:ECX bit 5 (VMX) is clear.
    NotSupported,
    /// IA32_FEATURE_CONTROL is locked with "VMX outside SMX" clear (firmware disabled VMX).
    DisabledByFirmware { feature_control: u64 },
    /// VMXON itself failed.
    VmxonFailed(VmFail),
}

impl core::fmt::Display for VmxError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            VmxError::NotSupported => f.write_str("the CPU has no VMX (CPUID.01H:ECX bit 5 is clear)"),
            VmxError::DisabledByFirmware { feature_control } => write!(
                f,
                "firmware disabled VMX: IA32_FEATURE_CONTROL {feature_control:#x} is locked with \"VMX outside SMX\" clear"
            ),
            VmxError::VmxonFailed(e) => write!(f, "VMXON failed: {e}"),
        }
    }
}

/// Proof that this CPU is in VMX root operation; not `Send`.
pub struct VmxRoot {
    revision_id: u32,
    region_guard: Result<u64, crate::guard::GuardError>,
    _not_send: PhantomData<*const ()>,
}

impl VmxRoot {
    /// The VMCS revision identifier (IA32_VMX_BASIC bits 30:0) for new VMCS regions.
    pub fn revision_id(&self) -> u32 {
        self.revision_id
    }

    /// The VMXON region taken out of the page tables once VMXON ran (software must not touch it
    /// any more, SDM 25.11.5), so it guards whatever the plan put right above it (a host stack):
    /// its address, or why it stays mapped (outside the image's first 2 MiB, the only part mapped
    /// in 4 KiB pages).
    pub fn region_guard(&self) -> Result<u64, crate::guard::GuardError> {
        self.region_guard
    }
}

/// Reads every VMX capability MSR (secondary/tertiary/TRUE ones only where the CPU reports them).
pub fn capabilities() -> CapabilityMsrs {
    let basic = msr::read(m::IA32_VMX_BASIC);
    let procbased = msr::read(m::IA32_VMX_PROCBASED_CTLS);
    let has_true = basic & m::VMX_BASIC_TRUE_CTLS != 0;
    let read_if = |cond: bool, index: u32| if cond { msr::read(index) } else { 0 };
    let procbased2 = read_if(procbased & (1 << 63) != 0, m::IA32_VMX_PROCBASED_CTLS2);
    CapabilityMsrs {
        basic,
        pinbased: msr::read(m::IA32_VMX_PINBASED_CTLS),
        procbased,
        exit: msr::read(m::IA32_VMX_EXIT_CTLS),
        entry: msr::read(m::IA32_VMX_ENTRY_CTLS),
        procbased2,
        ept_vpid: read_if(
            procbased2 & (1 << 33) != 0 || procbased2 & (1 << 37) != 0,
            m::IA32_VMX_EPT_VPID_CAP,
        ),
        true_pinbased: read_if(has_true, m::IA32_VMX_TRUE_PINBASED_CTLS),
        true_procbased: read_if(has_true, m::IA32_VMX_TRUE_PROCBASED_CTLS),
        true_exit: read_if(has_true, m::IA32_VMX_TRUE_EXIT_CTLS),
        true_entry: read_if(has_true, m::IA32_VMX_TRUE_ENTRY_CTLS),
        procbased3: read_if(procbased & (1 << 49) != 0, m::IA32_VMX_PROCBASED_CTLS3),
        misc: msr::read(m::IA32_VMX_MISC),
    }
}

/// Whether CPUID reports VMX.
pub fn supported() -> bool {
    crate::cpuid(1, 0).ecx & (1 << 5) != 0
}

/// Enters VMX root operation on the calling CPU, with `region` as its VMXON region (the
/// processor's for good once VMXON ran, so it is consumed).
pub fn enable(region: VmxonRegion) -> Result<VmxRoot, VmxError> {
    let vmxon_page = region.page();
    if !supported() {
        return Err(VmxError::NotSupported);
    }
    enable_in_feature_control()?;
    apply_fixed_bits();
    let revision_id = (msr::read(m::IA32_VMX_BASIC) & 0x7FFF_FFFF) as u32;
    vmxon_page.write_u32(0, revision_id);
    // SAFETY: the page is a static 4 KiB VMXON region given to VMX for good (the handle, taken
    // once, is consumed), holding the revision ID; CR0 and CR4 now satisfy the fixed bits.
    unsafe { instr::vmxon(vmxon_page.phys_addr()) }.map_err(VmxError::VmxonFailed)?;
    Ok(VmxRoot {
        revision_id,
        region_guard: guard_region(vmxon_page.phys_addr()),
        _not_send: PhantomData,
    })
}

/// Unmaps the VMXON region at `phys` (in VMX root operation the processor owns it).
#[cfg(target_os = "none")]
fn guard_region(phys: u64) -> Result<u64, crate::guard::GuardError> {
    crate::guard::unmap(phys).map(|()| phys)
}

/// Host builds have no page tables to change.
#[cfg(not(target_os = "none"))]
fn guard_region(phys: u64) -> Result<u64, crate::guard::GuardError> {
    Err(crate::guard::GuardError::NotIn4KiBMap(phys))
}

fn enable_in_feature_control() -> Result<(), VmxError> {
    let fc = msr::read(m::IA32_FEATURE_CONTROL);
    if fc & m::FEATURE_CONTROL_LOCK == 0 {
        let value = fc | m::FEATURE_CONTROL_LOCK | m::FEATURE_CONTROL_VMX_OUTSIDE_SMX;
        // SAFETY: IA32_FEATURE_CONTROL only gates VMX/SMX; locking it with VMX allowed is what firmware does.
        unsafe { msr::write(m::IA32_FEATURE_CONTROL, value) };
        return Ok(());
    }
    if fc & m::FEATURE_CONTROL_VMX_OUTSIDE_SMX == 0 {
        return Err(VmxError::DisabledByFirmware {
            feature_control: fc,
        });
    }
    Ok(())
}

/// Sets CR4.VMXE (and CR4.OSXSAVE when the CPU has XSAVE, for guests' XSETBV) and forces the bits
/// IA32_VMX_CR{0,4}_FIXED{0,1} require (SDM A.7, A.8).
fn apply_fixed_bits() {
    const CR4_VMXE: u64 = 1 << 13;
    let cr0 =
        (Cr0::read_raw() | msr::read(m::IA32_VMX_CR0_FIXED0)) & msr::read(m::IA32_VMX_CR0_FIXED1);
    let cr4 =
        (crate::xcr::with_osxsave(Cr4::read_raw()) | CR4_VMXE | msr::read(m::IA32_VMX_CR4_FIXED0))
            & msr::read(m::IA32_VMX_CR4_FIXED1);
    // SAFETY: the fixed bits in long mode keep PE, PG and PAE set (they are fixed to 1); the others
    // (NE, VMXE, OSXSAVE) do not change how memory is accessed.
    unsafe {
        Cr0::write_raw(cr0);
        Cr4::write_raw(cr4);
    }
}

/// INVEPT single-context for `eptp` (kind 1), or all contexts with `None` (kind 2).
pub fn invept(eptp: Option<u64>) -> Result<(), VmFail> {
    let (kind, value) = match eptp {
        Some(e) => (1, e),
        None => (2, 0),
    };
    // SAFETY: invalidating cached EPT translations never makes memory access less safe.
    unsafe { instr::invept(kind, value) }
}
