//! Control selection against realistic and deliberately broken capability MSR sets.

use std::string::ToString;

use super::msr_sets::{emulator_ipiv_on, sapphire_rapids, without_tertiary, without_true_msrs};
use super::*;

#[test]
fn sapphire_rapids_required_turns_ipiv_on() {
    let selected = select(&sapphire_rapids(), IpivMode::Required).unwrap();
    assert!(selected.ipiv);
    assert!(selected
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS));
    assert_eq!(selected.tertiary, TertiaryProcBased::IPI_VIRTUALIZATION);
    assert_eq!(selected.ipiv_unavailable, None);
}

#[test]
fn sapphire_rapids_words_have_every_wanted_control() {
    let s = select(&sapphire_rapids(), IpivMode::Preferred).unwrap();
    assert!(s
        .pin
        .contains(PinBased::EXTERNAL_INTERRUPT_EXITING | PinBased::NMI_EXITING));
    assert!(s.pin.contains(PinBased::PROCESS_POSTED_INTERRUPTS));
    assert!(s
        .primary
        .contains(PrimaryProcBased::USE_TPR_SHADOW | PrimaryProcBased::USE_MSR_BITMAPS));
    assert!(s.primary.contains(PrimaryProcBased::USE_IO_BITMAPS));
    assert!(!s.primary.contains(PrimaryProcBased::HLT_EXITING));
    let apicv = SecondaryProcBased::VIRTUALIZE_X2APIC_MODE
        | SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION
        | SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY
        | SecondaryProcBased::ENABLE_EPT;
    assert!(s.secondary.contains(apicv));
    assert!(!s.secondary.contains(SecondaryProcBased::UNRESTRICTED_GUEST));
    assert!(!s
        .secondary
        .contains(SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES));
    assert!(s.exit.contains(
        ExitControls::HOST_ADDRESS_SPACE_SIZE | ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT
    ));
    assert!(s
        .entry
        .contains(EntryControls::IA32E_MODE_GUEST | EntryControls::LOAD_IA32_EFER));
}

#[test]
fn true_msrs_let_cr3_exiting_be_zero() {
    let s = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert!(!s.primary.contains(PrimaryProcBased::CR3_LOAD_EXITING));
    assert_eq!(
        s.primary.bits() & 0x0400_6172,
        0x0400_6172,
        "default-1 bits stay set"
    );
}

#[test]
fn non_true_msrs_keep_their_default_one_controls() {
    let s = select(&without_true_msrs(), IpivMode::Off).unwrap();
    assert!(s
        .primary
        .contains(PrimaryProcBased::CR3_LOAD_EXITING | PrimaryProcBased::CR3_STORE_EXITING));
    assert_eq!(s.exit.bits() & 0x0003_6DFF, 0x0003_6DFF);
    assert_eq!(s.entry.bits() & 0x11FF, 0x11FF);
}

#[test]
fn off_never_activates_tertiary_controls() {
    let s = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert!(!s.ipiv);
    assert!(!s
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS));
    assert!(s.tertiary.is_empty());
    assert_eq!(s.ipiv_unavailable, None);
}

#[test]
fn preferred_without_tertiary_falls_back_and_says_why() {
    let s = select(&without_tertiary(), IpivMode::Preferred).unwrap();
    assert!(!s.ipiv);
    assert!(!s
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS));
    let why = s.ipiv_unavailable.unwrap().to_string();
    assert!(
        why.contains(
            "IA32_VMX_TRUE_PROCBASED_CTLS (MSR 0x48e) bit 49 'activate tertiary controls'"
        ),
        "{why}"
    );
}

#[test]
fn required_without_tertiary_names_the_primary_control() {
    let error = select(&without_tertiary(), IpivMode::Required).unwrap_err();
    assert_eq!(
        error.to_string(),
        "IPIv required but IA32_VMX_TRUE_PROCBASED_CTLS (MSR 0x48e) bit 49 'activate tertiary controls' \
         is not allowed-1 (primary processor-based VM-execution control bit 17)"
    );
}

#[test]
fn required_with_tertiary_but_no_ipiv_names_ctls3_bit_4() {
    let msrs = CapabilityMsrs {
        procbased3: 0x1,
        ..sapphire_rapids()
    };
    let error = select(&msrs, IpivMode::Required).unwrap_err();
    assert_eq!(
        error.to_string(),
        "IPIv required but IA32_VMX_PROCBASED_CTLS3 (MSR 0x492) bit 4 'IPI virtualization' \
         is not allowed-1 (tertiary processor-based VM-execution control bit 4)"
    );
}

#[test]
fn missing_posted_interrupts_is_refused_with_the_pin_msr() {
    let msrs = CapabilityMsrs {
        true_pinbased: 0x0000_007F_0000_0016,
        ..sapphire_rapids()
    };
    let error = select(&msrs, IpivMode::Off).unwrap_err();
    assert_eq!(
        error,
        SelectError::Refused {
            group: ControlGroup::PinBased,
            msr: msr::IA32_VMX_TRUE_PINBASED_CTLS,
            bit: 7,
            need: Need::Tessera,
        }
    );
    assert!(error.to_string().contains("'process posted interrupts'"));
}

/// NMI-window exiting (an NMI the guest blocks waits for it) is valid only with "virtual NMIs":
/// a CPU without it is refused at boot, not found out by a failed VM entry.
#[test]
fn missing_virtual_nmis_is_refused_and_present_otherwise() {
    let s = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert!(s
        .pin
        .contains(PinBased::NMI_EXITING | PinBased::VIRTUAL_NMIS));
    let msrs = CapabilityMsrs {
        true_pinbased: 0x0000_00DF_0000_0016,
        ..sapphire_rapids()
    };
    let error = select(&msrs, IpivMode::Off).unwrap_err();
    assert_eq!(
        error,
        SelectError::Refused {
            group: ControlGroup::PinBased,
            msr: msr::IA32_VMX_TRUE_PINBASED_CTLS,
            bit: 5,
            need: Need::Tessera,
        }
    );
    assert!(error.to_string().contains("'virtual NMIs'"));
}

#[test]
fn missing_virtual_interrupt_delivery_names_ctls2() {
    let msrs = CapabilityMsrs {
        procbased2: 0x17FF_FDFF_0000_0000,
        ..sapphire_rapids()
    };
    let text = select(&msrs, IpivMode::Off).unwrap_err().to_string();
    assert!(text.starts_with("Tessera requires it but IA32_VMX_PROCBASED_CTLS2 (MSR 0x48b) bit 41 'virtual-interrupt delivery'"), "{text}");
}

#[test]
fn forced_hlt_exiting_is_an_error() {
    let msrs = CapabilityMsrs {
        true_procbased: 0xFFFB_FFFE_0400_61F2,
        ..sapphire_rapids()
    };
    let error = select(&msrs, IpivMode::Off).unwrap_err();
    assert!(matches!(error, SelectError::Forced { bit: 7, .. }));
    assert!(error.to_string().contains("'HLT exiting' to be 0"));
}

#[test]
fn missing_2mib_ept_pages_is_an_error() {
    let msrs = CapabilityMsrs {
        ept_vpid: 0x0000_0F01_0672_4141,
        ..sapphire_rapids()
    };
    let text = select(&msrs, IpivMode::Off).unwrap_err().to_string();
    assert_eq!(
        text,
        "Tessera requires EPT capability '2-MByte EPT pages' but IA32_VMX_EPT_VPID_CAP (MSR 0x48c) bit 16 is 0"
    );
}

#[test]
fn a_cpu_without_single_context_invept_is_refused() {
    let msrs = CapabilityMsrs {
        ept_vpid: 0x0000_0F01_0473_4141,
        ..sapphire_rapids()
    };
    let text = select(&msrs, IpivMode::Off).unwrap_err().to_string();
    assert!(
        text.contains("'single-context INVEPT'") && text.contains("bit 25 is 0"),
        "{text}"
    );
}

#[test]
fn non_true_msrs_are_used_when_basic_bit_55_is_clear() {
    let msrs = CapabilityMsrs {
        true_pinbased: 0,
        ..without_true_msrs()
    };
    assert!(select(&msrs, IpivMode::Required).unwrap().ipiv);
    let allowed = AllowedSet::from_msrs(&msrs);
    assert_eq!(allowed.pin.msr, msr::IA32_VMX_PINBASED_CTLS);
    assert_eq!(allowed.tertiary.must_be_one, 0);
}

#[test]
fn optional_secondary_controls_follow_the_msr() {
    let with = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert!(with.secondary.contains(SecondaryProcBased::ENABLE_RDTSCP));
    let msrs = CapabilityMsrs {
        procbased2: 0x17FF_FFF7_0000_0000,
        ..sapphire_rapids()
    };
    let without = select(&msrs, IpivMode::Off).unwrap();
    assert!(!without
        .secondary
        .contains(SecondaryProcBased::ENABLE_RDTSCP));
}

#[test]
fn emulator_capabilities_give_the_words_seen_in_the_emulator() {
    let s = select(&emulator_ipiv_on(), IpivMode::Required).unwrap();
    let words = (
        s.pin.bits(),
        s.primary.bits(),
        s.secondary.bits(),
        s.tertiary.bits(),
        s.exit.bits(),
        s.entry.bits(),
    );
    assert_eq!(words, (0xBF, 0x9622_6172, 0x135A, 0x10, 0x3F_EFFB, 0xD3FB));
    let off = CapabilityMsrs {
        procbased3: 0x80,
        ..emulator_ipiv_on()
    };
    assert_eq!(
        select(&off, IpivMode::Required).unwrap_err().to_string(),
        "IPIv required but IA32_VMX_PROCBASED_CTLS3 (MSR 0x492) bit 4 'IPI virtualization' \
         is not allowed-1 (tertiary processor-based VM-execution control bit 4)"
    );
    assert_eq!(
        select(&off, IpivMode::Off).unwrap().primary.bits(),
        0x9620_6172
    );
}

#[test]
fn the_preemption_timer_is_required_and_its_rate_read() {
    let s = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert_eq!(s.preemption_timer_rate, 5);
    assert!(
        !s.pin.contains(PinBased::ACTIVATE_PREEMPTION_TIMER),
        "set per vCPU, not here"
    );
    assert_eq!(
        select(&emulator_ipiv_on(), IpivMode::Off)
            .unwrap()
            .preemption_timer_rate,
        0
    );
    let msrs = CapabilityMsrs {
        true_pinbased: 0x0000_00BF_0000_0016,
        ..sapphire_rapids()
    };
    let text = select(&msrs, IpivMode::Off).unwrap_err().to_string();
    assert!(text.contains("'activate VMX-preemption timer'"), "{text}");
}

#[test]
fn apic_timer_virtualization_is_offered_with_ctls3_bit_8_and_tertiary_controls() {
    assert!(
        !select(&sapphire_rapids(), IpivMode::Off)
            .unwrap()
            .apic_timer_virtualization
    );
    let msrs = CapabilityMsrs {
        procbased3: 0x191,
        ..sapphire_rapids()
    };
    let s = select(&msrs, IpivMode::Off).unwrap();
    assert!(s.apic_timer_virtualization);
    assert!(!s
        .tertiary
        .contains(TertiaryProcBased::APIC_TIMER_VIRTUALIZATION));
    let without_tertiary = CapabilityMsrs {
        procbased3: 0x191,
        ..without_tertiary()
    };
    assert!(
        !select(&without_tertiary, IpivMode::Off)
            .unwrap()
            .apic_timer_virtualization
    );
}

#[test]
fn without_apic_timer_virtualization_the_reason_names_ctls3_bit_8() {
    let s = select(&sapphire_rapids(), IpivMode::Preferred).unwrap();
    assert_eq!(
        s.timer_virtualization_unavailable.unwrap().to_string(),
        "timer = \"virtualized\" required but IA32_VMX_PROCBASED_CTLS3 (MSR 0x492) bit 8 \
         'APIC-timer virtualization' is not allowed-1 (tertiary processor-based VM-execution control bit 8)"
    );
    let old = select(&without_tertiary(), IpivMode::Off).unwrap();
    let why = old.timer_virtualization_unavailable.unwrap().to_string();
    assert!(why.contains("bit 49 'activate tertiary controls'"), "{why}");
    let offered = CapabilityMsrs {
        procbased3: 0x191,
        ..sapphire_rapids()
    };
    assert_eq!(
        select(&offered, IpivMode::Off)
            .unwrap()
            .timer_virtualization_unavailable,
        None
    );
}

#[test]
fn a_vcpu_with_timer_virtualization_activates_tertiary_controls_without_bit_8() {
    let offered = CapabilityMsrs {
        procbased3: 0x191,
        ..sapphire_rapids()
    };
    let s = select(&offered, IpivMode::Off).unwrap();
    assert!(!s
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS));
    let v = s.with_timer_virtualization();
    assert!(v
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS));
    assert!(v.tertiary.is_empty(), "bit 8 waits for the guest's LVT");
    let with_ipiv = select(&offered, IpivMode::Required)
        .unwrap()
        .with_timer_virtualization();
    assert_eq!(with_ipiv.tertiary, TertiaryProcBased::IPI_VIRTUALIZATION);
    let not_offered = select(&sapphire_rapids(), IpivMode::Off).unwrap();
    assert_eq!(not_offered.with_timer_virtualization(), not_offered);
}

#[test]
fn a_portless_vcpu_exits_unconditionally_without_bitmaps() {
    let s = select(&sapphire_rapids(), IpivMode::Preferred).unwrap();
    assert_eq!(PortExiting::of(s.primary), Some(PortExiting::Bitmaps));
    let portless = s.with_port_exiting(PortExiting::for_partition(false));
    assert!(portless
        .primary
        .contains(PrimaryProcBased::UNCONDITIONAL_IO_EXITING));
    assert!(!portless.primary.contains(PrimaryProcBased::USE_IO_BITMAPS));
    assert_eq!(
        PortExiting::of(portless.primary),
        Some(PortExiting::Unconditional)
    );
    assert_eq!(
        portless.primary ^ s.primary,
        PrimaryProcBased::UNCONDITIONAL_IO_EXITING | PrimaryProcBased::USE_IO_BITMAPS,
        "nothing else changes"
    );
    let granted = portless.with_port_exiting(PortExiting::for_partition(true));
    assert_eq!(granted, s);
    let mut neither = s.primary;
    neither.remove(PrimaryProcBased::USE_IO_BITMAPS);
    assert_eq!(PortExiting::of(neither), None);
}

#[test]
fn a_cpu_without_unconditional_io_exiting_is_refused() {
    let mut msrs = sapphire_rapids();
    let bit = u64::from(PrimaryProcBased::UNCONDITIONAL_IO_EXITING.bits()) << 32;
    msrs.procbased &= !bit;
    msrs.true_procbased &= !bit;
    assert!(matches!(
        select(&msrs, IpivMode::Preferred),
        Err(SelectError::Refused { bit: 24, .. })
    ));
    let mut forced = sapphire_rapids();
    let bitmaps = u64::from(PrimaryProcBased::USE_IO_BITMAPS.bits());
    forced.procbased |= bitmaps;
    forced.true_procbased |= bitmaps;
    assert!(matches!(
        select(&forced, IpivMode::Preferred),
        Err(SelectError::Forced { bit: 25, .. })
    ));
}
