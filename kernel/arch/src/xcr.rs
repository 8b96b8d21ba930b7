//! XCR0 on a CPU that runs a vCPU: CR4.OSXSAVE is set when the CPU has XSAVE (so XSETBV works in
//! VMX root), and a guest's XCR0 is loaded once tessera-vmx checked it. The hypervisor uses no
//! extended state, so the CPU's XCR0 stays the guest's across exits (tessera_vmx::cpuid::xsave).

use tessera_vmx::cpuid::xsave::{check_xsetbv, XsetbvFault};
use x86_64::registers::control::Cr4;

const LEAF1_ECX_XSAVE: u32 = 1 << 26;
const CR4_OSXSAVE: u64 = 1 << 18;

/// The XCR0 components this CPU supports (CPUID.(EAX=0DH,ECX=0):EDX:EAX), 0 without XSAVE.
pub fn supported() -> u64 {
    if crate::cpuid(1, 0).ecx & LEAF1_ECX_XSAVE == 0 {
        return 0;
    }
    let leaf = crate::cpuid(0xD, 0);
    u64::from(leaf.edx) << 32 | u64::from(leaf.eax)
}

/// CR4 with OSXSAVE added when the CPU has XSAVE (for the CR4 write that enters VMX operation).
pub fn with_osxsave(cr4: u64) -> u64 {
    if supported() != 0 {
        cr4 | CR4_OSXSAVE
    } else {
        cr4
    }
}

/// Why XSETBV in VMX root would fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadRefused {
    /// CR4.OSXSAVE is clear on this CPU (it has no XSAVE).
    NoOsxsave,
    /// The value breaks the rules against this CPU's supported components.
    Value(XsetbvFault),
}

/// Loads `value` into this CPU's XCR0; `Err` (nothing loaded) when XSETBV would fault.
pub fn load(value: u64) -> Result<(), LoadRefused> {
    if Cr4::read_raw() & CR4_OSXSAVE == 0 {
        return Err(LoadRefused::NoOsxsave);
    }
    check_xsetbv(0, 0, value, supported()).map_err(LoadRefused::Value)?;
    // SAFETY: CR4.OSXSAVE is set and `value` passed the XSETBV rules against this CPU's supported
    // components, so XSETBV does not fault; the hypervisor itself uses no extended state.
    unsafe {
        core::arch::asm!("xsetbv", in("ecx") 0u32, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags));
    }
    Ok(())
}
