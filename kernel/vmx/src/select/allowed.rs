//! Allowed settings of a VMX control word, as reported by its capability MSR (SDM Vol. 3D A.3-A.5:
//! bits 31:0 are the allowed-0 settings, a 1 there means the control must be 1; bits 63:32 are the
//! allowed-1 settings, a 0 there means the control must be 0; A.3.4: CTLS3 is 64 bits of allowed-1).

use super::ControlGroup;

/// The settings one control word may take, with the MSR that reported them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed {
    /// Controls that must be 1 (allowed-0 setting is 1).
    pub must_be_one: u64,
    /// Controls that may be 1 (allowed-1 setting is 1).
    pub may_be_one: u64,
    /// Which control word and which MSR reported it.
    pub group: ControlGroup,
    /// The MSR the settings came from (the TRUE_* variant when it was used).
    pub msr: u32,
}

impl Allowed {
    /// Settings of a 32-bit control word from a capability MSR value (allowed-0 low, allowed-1 high).
    pub const fn from_split_msr(group: ControlGroup, msr: u32, value: u64) -> Self {
        Allowed {
            must_be_one: value & 0xFFFF_FFFF,
            may_be_one: value >> 32,
            group,
            msr,
        }
    }

    /// Settings of a 64-bit control word whose MSR holds only allowed-1 settings (every bit may be 0).
    pub const fn from_allowed1_msr(group: ControlGroup, msr: u32, value: u64) -> Self {
        Allowed {
            must_be_one: 0,
            may_be_one: value,
            group,
            msr,
        }
    }

    /// Whether control `bits` may all be set to 1.
    pub const fn allows(&self, bits: u64) -> bool {
        bits & !self.may_be_one == 0
    }

    /// The lowest bit of `wanted` that may not be 1, if any.
    pub const fn first_refused(&self, wanted: u64) -> Option<u8> {
        lowest_bit(wanted & !self.may_be_one)
    }

    /// The lowest bit of `unwanted` that must be 1, if any.
    pub const fn first_forced(&self, unwanted: u64) -> Option<u8> {
        lowest_bit(unwanted & self.must_be_one)
    }

    /// The control word: every must-be-one bit, the required bits, and the optional bits that are allowed.
    pub const fn word(&self, required: u64, optional: u64) -> u64 {
        self.must_be_one | required | (optional & self.may_be_one)
    }
}

/// Index of the lowest set bit, or `None` for 0.
const fn lowest_bit(bits: u64) -> Option<u8> {
    if bits == 0 {
        None
    } else {
        Some(bits.trailing_zeros() as u8)
    }
}
