//! The VM-entry checks on VM-execution and VM-exit control combinations that Tessera's choices touch
//! (SDM Vol. 3C 26.2.1.1 "VM-Execution Control Fields", 26.2.1.2; list in ipiv.md section 3). VM entry
//! fails with "invalid control field" when one is broken; checking first gives a message that says why.

use crate::controls::{
    ExitControls, PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased,
};

use super::SelectedControls;

/// A broken rule, stated as the SDM states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenRule(pub &'static str);

/// The controls that take effect: secondary and tertiary count only when activated.
fn effective(c: &SelectedControls) -> (SecondaryProcBased, TertiaryProcBased) {
    let secondary = match c
        .primary
        .contains(PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS)
    {
        true => c.secondary,
        false => SecondaryProcBased::empty(),
    };
    let tertiary = match c
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS)
    {
        true => c.tertiary,
        false => TertiaryProcBased::empty(),
    };
    (secondary, tertiary)
}

/// Checks every rule; `Err` names the first one broken.
pub fn check_entry_rules(c: &SelectedControls) -> Result<(), BrokenRule> {
    let (secondary, tertiary) = effective(c);
    let tpr_shadow = c.primary.contains(PrimaryProcBased::USE_TPR_SHADOW);
    let vid = secondary.contains(SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY);
    let needs_tpr_shadow = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE
        | SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION
        | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY;
    let rules: [(bool, &'static str); 7] = [
        (
            !tpr_shadow && (secondary.intersects(needs_tpr_shadow) || tertiary.contains(TertiaryProcBased::IPI_VIRTUALIZATION)),
            "use TPR shadow = 0 requires virtualize x2APIC mode, APIC-register virtualization, \
             virtual-interrupt delivery and IPI virtualization = 0",
        ),
        (
            secondary.contains(SecondaryProcBased::VIRTUALIZE_X2APIC_MODE | SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES),
            "virtualize x2APIC mode = 1 requires virtualize APIC accesses = 0",
        ),
        (
            vid && !c.pin.contains(PinBased::EXTERNAL_INTERRUPT_EXITING),
            "virtual-interrupt delivery = 1 requires external-interrupt exiting = 1",
        ),
        (
            c.pin.contains(PinBased::PROCESS_POSTED_INTERRUPTS)
                && !(vid && c.exit.contains(ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT)),
            "process posted interrupts = 1 requires virtual-interrupt delivery = 1 and acknowledge interrupt on exit = 1",
        ),
        (
            c.pin.contains(PinBased::VIRTUAL_NMIS) && !c.pin.contains(PinBased::NMI_EXITING),
            "virtual NMIs = 1 requires NMI exiting = 1",
        ),
        (
            c.primary.contains(PrimaryProcBased::NMI_WINDOW_EXITING) && !c.pin.contains(PinBased::VIRTUAL_NMIS),
            "NMI-window exiting = 1 requires virtual NMIs = 1",
        ),
        (
            secondary.contains(SecondaryProcBased::UNRESTRICTED_GUEST) && !secondary.contains(SecondaryProcBased::ENABLE_EPT),
            "unrestricted guest = 1 requires enable EPT = 1",
        ),
    ];
    match rules.into_iter().find(|&(broken, _)| broken) {
        Some((_, rule)) => Err(BrokenRule(rule)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::msr_sets::{sapphire_rapids, without_tertiary, without_true_msrs};
    use super::super::{select, IpivMode};
    use super::*;

    fn tessera() -> SelectedControls {
        select(&sapphire_rapids(), IpivMode::Required).unwrap()
    }

    #[test]
    fn every_selection_passes_the_entry_rules() {
        for msrs in [sapphire_rapids(), without_tertiary(), without_true_msrs()] {
            for mode in [IpivMode::Preferred, IpivMode::Off] {
                assert_eq!(check_entry_rules(&select(&msrs, mode).unwrap()), Ok(()));
            }
        }
        assert_eq!(check_entry_rules(&tessera()), Ok(()));
    }

    #[test]
    fn ipiv_without_tpr_shadow_is_caught() {
        let mut c = tessera();
        c.primary.remove(PrimaryProcBased::USE_TPR_SHADOW);
        assert!(check_entry_rules(&c)
            .unwrap_err()
            .0
            .starts_with("use TPR shadow = 0"));
    }

    #[test]
    fn x2apic_mode_with_apic_access_page_is_caught() {
        let mut c = tessera();
        c.secondary
            .insert(SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES);
        assert_eq!(
            check_entry_rules(&c),
            Err(BrokenRule(
                "virtualize x2APIC mode = 1 requires virtualize APIC accesses = 0"
            ))
        );
    }

    #[test]
    fn posted_interrupts_need_ack_on_exit_and_vid_needs_external_exiting() {
        let mut c = tessera();
        c.exit.remove(ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT);
        assert!(check_entry_rules(&c)
            .unwrap_err()
            .0
            .starts_with("process posted interrupts"));
        let mut c = tessera();
        c.pin.remove(PinBased::EXTERNAL_INTERRUPT_EXITING);
        assert!(check_entry_rules(&c)
            .unwrap_err()
            .0
            .starts_with("virtual-interrupt delivery"));
    }

    #[test]
    fn nmi_and_unrestricted_guest_rules() {
        let mut c = tessera();
        c.pin = (c.pin - PinBased::NMI_EXITING) | PinBased::VIRTUAL_NMIS;
        assert_eq!(
            check_entry_rules(&c),
            Err(BrokenRule("virtual NMIs = 1 requires NMI exiting = 1"))
        );
        let mut c = tessera();
        c.pin.remove(PinBased::VIRTUAL_NMIS);
        c.primary.insert(PrimaryProcBased::NMI_WINDOW_EXITING);
        assert_eq!(
            check_entry_rules(&c),
            Err(BrokenRule(
                "NMI-window exiting = 1 requires virtual NMIs = 1"
            ))
        );
        let mut c = tessera();
        c.secondary =
            (c.secondary - SecondaryProcBased::ENABLE_EPT) | SecondaryProcBased::UNRESTRICTED_GUEST;
        assert_eq!(
            check_entry_rules(&c),
            Err(BrokenRule("unrestricted guest = 1 requires enable EPT = 1"))
        );
    }

    #[test]
    fn inactive_secondary_controls_do_not_count() {
        let mut c = tessera();
        c.primary.remove(
            PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS | PrimaryProcBased::USE_TPR_SHADOW,
        );
        c.pin.remove(PinBased::PROCESS_POSTED_INTERRUPTS);
        c.primary
            .remove(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS);
        assert_eq!(check_entry_rules(&c), Ok(()));
    }
}
