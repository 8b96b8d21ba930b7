//! The VMX control words the self-test guests run with: x2APIC virtualization, virtual-interrupt
//! delivery, posted interrupts and (optionally forced) IPI virtualization.

use tessera_vmx::controls::{
    EntryControls, ExitControls, PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased,
};
pub use tessera_vmx::select::ipiv_offered;
use tessera_vmx::select::{Allowed, AllowedSet};

/// The six control words, ready for VMWRITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub pin: u64,
    pub primary: u64,
    pub secondary: u64,
    pub tertiary: u64,
    pub exit: u64,
    pub entry: u64,
}

/// A control the self-test needs but the processor does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    pub group: &'static str,
    pub bit: u8,
}

fn word(allowed: &Allowed, group: &'static str, required: u64) -> Result<u64, Missing> {
    match allowed.first_refused(required) {
        Some(bit) => Err(Missing { group, bit }),
        None => Ok(allowed.word(required, 0)),
    }
}

/// The control words; with `force_ipiv` the tertiary controls are activated with IPIv set even if
/// the capability MSRs do not allow it (to check that VM entry refuses them).
pub fn select(allowed: &AllowedSet, force_ipiv: bool) -> Result<Words, Missing> {
    let pin = PinBased::EXTERNAL_INTERRUPT_EXITING | PinBased::PROCESS_POSTED_INTERRUPTS;
    let primary = PrimaryProcBased::USE_TPR_SHADOW
        | PrimaryProcBased::USE_MSR_BITMAPS
        | PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS;
    let secondary = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE
        | SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION
        | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY;
    let exit = ExitControls::HOST_ADDRESS_SPACE_SIZE | ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT;
    let entry = EntryControls::IA32E_MODE_GUEST;
    let tertiary_bit = PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits() as u64;
    let mut words = Words {
        pin: word(&allowed.pin, "pin-based", pin.bits() as u64)?,
        primary: word(&allowed.primary, "primary", primary.bits() as u64)?,
        secondary: word(&allowed.secondary, "secondary", secondary.bits() as u64)?,
        tertiary: 0,
        exit: word(&allowed.exit, "exit", exit.bits() as u64)?,
        entry: word(&allowed.entry, "entry", entry.bits() as u64)?,
    };
    if force_ipiv {
        words.primary |= tertiary_bit;
        words.tertiary = TertiaryProcBased::IPI_VIRTUALIZATION.bits();
    } else if ipiv_offered(allowed) {
        words.primary |= tertiary_bit;
        words.tertiary = word(
            &allowed.tertiary,
            "tertiary",
            TertiaryProcBased::IPI_VIRTUALIZATION.bits(),
        )?;
    }
    Ok(words)
}

/// `words` with "use TPR shadow" = 0 and everything that needs it (x2APIC virtualization,
/// APIC-register virtualization, virtual-interrupt delivery, and posted interrupts, which need
/// virtual-interrupt delivery) cleared; IPIv stays set, so only the IPIv rule can refuse entry.
pub fn without_tpr_shadow(words: &Words) -> Words {
    let apic_virtualization = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE
        | SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION
        | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY;
    Words {
        pin: words.pin & !(PinBased::PROCESS_POSTED_INTERRUPTS.bits() as u64),
        primary: words.primary & !(PrimaryProcBased::USE_TPR_SHADOW.bits() as u64),
        secondary: words.secondary & !(apic_virtualization.bits() as u64),
        ..*words
    }
}

/// `words` for a guest in xAPIC mode: "virtualize APIC accesses" instead of "virtualize x2APIC
/// mode" (the SDM forbids both at once), keeping APIC-register virtualization, virtual-interrupt
/// delivery, posted interrupts and IPIv.
pub fn xapic(words: &Words, allowed: &AllowedSet) -> Result<Words, Missing> {
    let x2apic = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE.bits() as u64;
    let accesses = SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES.bits() as u64;
    let secondary = words.secondary & !x2apic | accesses;
    Ok(Words {
        secondary: word(&allowed.secondary, "secondary", secondary)?,
        ..*words
    })
}

/// `words` with the VMX-preemption timer activated (a guest that might never exit gets a deadline).
pub fn with_preemption_timer(words: &Words, allowed: &AllowedSet) -> Result<Words, Missing> {
    let timer = PinBased::ACTIVATE_PREEMPTION_TIMER.bits() as u64;
    Ok(Words {
        pin: word(&allowed.pin, "pin-based", words.pin | timer)?,
        ..*words
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_vmx::select::msr_sets::sapphire_rapids;
    use tessera_vmx::select::CapabilityMsrs;

    #[test]
    fn sapphire_rapids_offers_everything_with_ipiv() {
        let allowed = AllowedSet::from_msrs(&sapphire_rapids());
        assert!(ipiv_offered(&allowed));
        let words = select(&allowed, false).expect("all controls allowed");
        assert_ne!(words.primary & (1 << 17), 0);
        assert_eq!(words.tertiary & (1 << 4), 1 << 4);
        assert_ne!(words.pin & (1 << 7), 0);
        assert_ne!(words.secondary & (1 << 9), 0);
    }

    #[test]
    fn without_tpr_shadow_keeps_only_ipiv_of_the_apic_controls() {
        let allowed = AllowedSet::from_msrs(&sapphire_rapids());
        let words = without_tpr_shadow(&select(&allowed, false).unwrap());
        assert_eq!(words.primary & (1 << 21), 0);
        assert_eq!(words.secondary & (1 << 4 | 1 << 8 | 1 << 9), 0);
        assert_eq!(words.pin & (1 << 7), 0);
        assert_eq!(words.tertiary, 1 << 4);
        assert_ne!(words.primary & (1 << 17), 0);
    }

    #[test]
    fn xapic_swaps_x2apic_mode_for_apic_accesses() {
        let allowed = AllowedSet::from_msrs(&sapphire_rapids());
        let words = xapic(&select(&allowed, false).unwrap(), &allowed).unwrap();
        assert_eq!(words.secondary & (1 << 4), 0);
        assert_eq!(words.secondary & (1 | 1 << 8 | 1 << 9), 1 | 1 << 8 | 1 << 9);
        assert_eq!(words.tertiary, 1 << 4);
    }

    #[test]
    fn preemption_timer_is_added_to_the_pin_controls() {
        let allowed = AllowedSet::from_msrs(&sapphire_rapids());
        let words = select(&allowed, false).unwrap();
        let timed = with_preemption_timer(&words, &allowed).unwrap();
        assert_eq!(timed.pin, words.pin | 1 << 6);
        assert_eq!(timed.primary, words.primary);
    }

    #[test]
    fn ctls3_without_bit_4_turns_ipiv_off_unless_forced() {
        let allowed = AllowedSet::from_msrs(&CapabilityMsrs {
            procbased3: 0x01,
            ..sapphire_rapids()
        });
        assert!(!ipiv_offered(&allowed));
        assert_eq!(select(&allowed, false).unwrap().tertiary, 0);
        let forced = select(&allowed, true).unwrap();
        assert_eq!(forced.tertiary, 1 << 4);
        assert_ne!(forced.primary & (1 << 17), 0);
    }
}
