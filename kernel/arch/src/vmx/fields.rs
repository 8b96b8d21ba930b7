//! Which VMCS fields safe code may write directly: not host state (it decides where the processor
//! returns), not physical-address fields (the processor would read or write that memory); those are
//! set through typed methods of `ActiveVmcs` instead.

use tessera_vmx::fields::{type_of, width_of, Field64Control as C64, FieldType, FieldWidth};

/// Why a direct VMCS write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRefusal {
    /// Host-state fields are written only by `ActiveVmcs::set_host_state`.
    HostState(u32),
    /// Physical-address fields are written through typed setters (`set_page`,
    /// `set_posted_interrupt_descriptor`, `set_pid_pointer_table`, `set_eptp`).
    Address(u32),
}

/// 64-bit control fields that hold values, not addresses (TSC offset and multiplier, EOI-exit bitmaps,
/// VM-function controls, tertiary controls, secondary exit controls, the guest deadline shadow of
/// APIC-timer virtualization), high halves included.
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

/// Whether safe code may VMWRITE field `encoding` (type and width decoded by tessera-vmx).
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            check_direct_write(0x6C16),
            Err(FieldRefusal::HostState(0x6C16))
        ); // host RIP
        assert_eq!(
            check_direct_write(0x0C0C),
            Err(FieldRefusal::HostState(0x0C0C))
        ); // host TR
        assert_eq!(
            check_direct_write(0x2004),
            Err(FieldRefusal::Address(0x2004))
        ); // MSR bitmap
        assert_eq!(
            check_direct_write(0x2042),
            Err(FieldRefusal::Address(0x2042))
        ); // PID table
        assert_eq!(
            check_direct_write(0x2017),
            Err(FieldRefusal::Address(0x2017))
        ); // PID high half
    }
}
