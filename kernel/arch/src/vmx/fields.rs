//! Which VMCS fields safe code may write, and with what type. Guest state and the few controls
//! that only describe the next entry (event injection, the guest timer's vector and deadline
//! shadow, the TSC offset) are insensitive: a value there changes what the guest sees, never
//! what it can reach. [`SafeField`] names them, each with its width as the value's type.
//! Everything else (execution, exit and entry controls, addresses, host state) is written once,
//! from a validated configuration (`ActiveVmcs::configure`, `set_host_state`), except three
//! control bits that only decide when the guest exits ([`RuntimeControl`]).

use tessera_vmx::controls::{PinBased, PrimaryProcBased, TertiaryProcBased};
use tessera_vmx::fields::{
    type_of, Field16Control as C16, Field16Guest, Field32Control as C32, Field32Guest,
    Field64Control as C64, Field64Guest, FieldType, NaturalGuest,
};

mod sealed {
    pub trait Sealed {}
}

/// A VMCS field safe code may write, with its width in `Value`.
pub trait SafeField: sealed::Sealed + Copy {
    type Value: Into<u64> + Copy;
    /// The field's encoding for VMWRITE.
    fn encoding(self) -> u32;
}

macro_rules! guest_group {
    ($($group:ty => $value:ty),* $(,)?) => {$(
        impl sealed::Sealed for $group {}
        impl SafeField for $group {
            type Value = $value;
            #[inline]
            fn encoding(self) -> u32 {
                <$group>::encoding(self)
            }
        }
    )*};
}

guest_group!(Field16Guest => u16, Field32Guest => u32, Field64Guest => u64, NaturalGuest => u64);

macro_rules! insensitive_control {
    ($($(#[$meta:meta])* $name:ident: $value:ty = $field:expr;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl sealed::Sealed for $name {}
        impl SafeField for $name {
            type Value = $value;
            #[inline]
            fn encoding(self) -> u32 {
                $field.encoding()
            }
        }
    )*};
}

insensitive_control! {
    /// VM-entry interruption-information (4016H): the event injected at the next entry.
    EntryInterruptionInfo: u32 = C32::EntryInterruptionInfo;
    /// VM-entry exception error code (4018H).
    EntryExceptionErrorCode: u32 = C32::EntryExceptionErrorCode;
    /// VM-entry instruction length (401AH), for injected software interrupts and exceptions.
    EntryInstructionLength: u32 = C32::EntryInstructionLength;
    /// Virtual timer vector (000AH) of APIC-timer virtualization.
    VirtualTimerVector: u16 = C16::VirtualTimerVector;
    /// Guest deadline shadow (204EH) of APIC-timer virtualization.
    GuestDeadlineShadow: u64 = C64::GuestDeadlineShadow;
    /// TSC offset (2010H): what the guest's TSC reads add to the host's.
    TscOffset: u64 = C64::TscOffset;
}

/// Why a self-test's direct VMCS write was refused (`test_hooks::write_raw`).
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRefusal {
    /// Host-state fields are written only by `ActiveVmcs::set_host_state`.
    HostState(u32),
    /// Physical-address fields are written through the hooks' typed setters.
    Address(u32),
}

/// Whether `encoding` is a guest-state field (for writes whose field is data, e.g. the MSR
/// policy's emulated MSRs and the guest state computed by tessera-vmx).
#[inline]
pub fn is_guest_state(encoding: u32) -> bool {
    type_of(encoding) == FieldType::GuestState
}

/// The control bits changed while a vCPU runs: each only decides when the guest exits, none
/// what it can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeControl {
    /// "NMI-window exiting" (primary bit 22): exit when a pending NMI can be injected.
    NmiWindowExiting,
    /// "Activate VMX-preemption timer" (pin-based bit 6): times the trapped guest timer.
    PreemptionTimer,
    /// "APIC-timer virtualization" (tertiary bit 8): the processor runs the guest's TSC-deadline
    /// timer (effective only where "activate tertiary controls" was configured).
    ApicTimerVirtualization,
}

impl RuntimeControl {
    /// The control field the bit is in.
    #[inline]
    pub fn field(self) -> u32 {
        self.field_and_bit().0
    }

    /// The control field and the bit in it.
    #[inline]
    pub(crate) fn field_and_bit(self) -> (u32, u64) {
        match self {
            RuntimeControl::NmiWindowExiting => (
                C32::ProcBasedControls.encoding(),
                u64::from(PrimaryProcBased::NMI_WINDOW_EXITING.bits()),
            ),
            RuntimeControl::PreemptionTimer => (
                C32::PinBasedControls.encoding(),
                u64::from(PinBased::ACTIVATE_PREEMPTION_TIMER.bits()),
            ),
            RuntimeControl::ApicTimerVirtualization => (
                C64::TertiaryProcBasedControls.encoding(),
                TertiaryProcBased::APIC_TIMER_VIRTUALIZATION.bits(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_fields_are_guest_state_or_entry_and_timer_values() {
        assert!(is_guest_state(NaturalGuest::Rip.encoding()));
        assert!(is_guest_state(SafeField::encoding(
            Field32Guest::InterruptibilityState
        )));
        assert!(!is_guest_state(C32::ProcBasedControls.encoding()));
        assert!(!is_guest_state(C64::Eptp.encoding()));
        assert!(!is_guest_state(0x6C16)); // host RIP
        assert_eq!(SafeField::encoding(EntryInterruptionInfo), 0x4016);
        assert_eq!(SafeField::encoding(GuestDeadlineShadow), 0x204E);
        assert_eq!(SafeField::encoding(VirtualTimerVector), 0x000A);
    }

    #[test]
    fn runtime_controls_are_single_bits_of_control_words() {
        for c in [
            RuntimeControl::NmiWindowExiting,
            RuntimeControl::PreemptionTimer,
            RuntimeControl::ApicTimerVirtualization,
        ] {
            let (field, bit) = c.field_and_bit();
            assert_eq!(type_of(field), FieldType::Control);
            assert_eq!(bit.count_ones(), 1);
        }
    }
}
