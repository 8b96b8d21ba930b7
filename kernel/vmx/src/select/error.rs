//! Why no usable set of VMX controls exists, worded so the boot log names the control and the MSR.

use core::fmt;

use super::{control_name, ControlGroup};
use crate::msr;

/// Who needs a control that the CPU refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Tessera cannot run any partition without it.
    Tessera,
    /// The manifest says `ipiv = "required"`.
    IpivRequired,
    /// The manifest says `ipiv = "preferred"`: not an error, the reason IPIv stays off.
    IpivPreferred,
    /// A partition says `timer = "virtualized"`.
    TimerVirtualized,
    /// Partitions accept the trapped timer: not an error, the reason every timer exits.
    TimerPreferred,
}

/// A control or capability that the capability MSRs do not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectError {
    /// Control `bit` of `group` is needed but its allowed-1 setting in `msr` is 0.
    Refused {
        group: ControlGroup,
        msr: u32,
        bit: u8,
        need: Need,
    },
    /// Control `bit` of `group` must be 0 for Tessera but its allowed-0 setting in `msr` is 1.
    Forced {
        group: ControlGroup,
        msr: u32,
        bit: u8,
    },
    /// IA32_VMX_EPT_VPID_CAP bit `bit` is 0.
    EptCapability {
        msr: u32,
        bit: u8,
        name: &'static str,
    },
}

/// The SDM name of a VMX capability MSR.
pub const fn msr_name(number: u32) -> &'static str {
    match number {
        msr::IA32_VMX_PINBASED_CTLS => "IA32_VMX_PINBASED_CTLS",
        msr::IA32_VMX_PROCBASED_CTLS => "IA32_VMX_PROCBASED_CTLS",
        msr::IA32_VMX_EXIT_CTLS => "IA32_VMX_EXIT_CTLS",
        msr::IA32_VMX_ENTRY_CTLS => "IA32_VMX_ENTRY_CTLS",
        msr::IA32_VMX_PROCBASED_CTLS2 => "IA32_VMX_PROCBASED_CTLS2",
        msr::IA32_VMX_EPT_VPID_CAP => "IA32_VMX_EPT_VPID_CAP",
        msr::IA32_VMX_TRUE_PINBASED_CTLS => "IA32_VMX_TRUE_PINBASED_CTLS",
        msr::IA32_VMX_TRUE_PROCBASED_CTLS => "IA32_VMX_TRUE_PROCBASED_CTLS",
        msr::IA32_VMX_TRUE_EXIT_CTLS => "IA32_VMX_TRUE_EXIT_CTLS",
        msr::IA32_VMX_TRUE_ENTRY_CTLS => "IA32_VMX_TRUE_ENTRY_CTLS",
        msr::IA32_VMX_PROCBASED_CTLS3 => "IA32_VMX_PROCBASED_CTLS3",
        _ => "VMX capability MSR",
    }
}

/// The MSR bit that holds the allowed-1 setting of control `bit` (bits 63:32 for split MSRs).
const fn allowed1_msr_bit(group: ControlGroup, bit: u8) -> u8 {
    match group {
        ControlGroup::TertiaryProcBased => bit,
        _ => bit + 32,
    }
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SelectError::Refused { group, msr, bit, need } => {
                let (name, msr_bit) = (control_name(group, bit), allowed1_msr_bit(group, bit));
                let who = match need {
                    Need::Tessera => "Tessera requires it",
                    Need::IpivRequired => "IPIv required",
                    Need::IpivPreferred => "IPIv preferred, left off",
                    Need::TimerVirtualized => "timer = \"virtualized\" required",
                    Need::TimerPreferred => "APIC-timer virtualization preferred, timers trapped",
                };
                write!(
                    f,
                    "{who} but {} (MSR {msr:#x}) bit {msr_bit} '{name}' is not allowed-1 ({} control bit {bit})",
                    msr_name(msr),
                    group.name()
                )
            }
            SelectError::Forced { group, msr, bit } => write!(
                f,
                "Tessera needs {} control bit {bit} '{}' to be 0 but {} (MSR {msr:#x}) bit {bit} forces it to 1",
                group.name(),
                control_name(group, bit),
                msr_name(msr)
            ),
            SelectError::EptCapability { msr, bit, name } => write!(
                f,
                "Tessera requires EPT capability '{name}' but {} (MSR {msr:#x}) bit {bit} is 0",
                msr_name(msr)
            ),
        }
    }
}
