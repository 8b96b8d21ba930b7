//! What Tessera wants from each control word, and how the words are computed from the allowed settings.
//!
//! Guests enter in 64-bit mode (no unrestricted guest), run x2APIC with full APIC virtualization and
//! posted interrupts, halt without exiting (HLT exiting off: each vCPU owns its CPU), and see only the
//! MSRs, ports and memory the bitmaps and EPT grant.

use super::{refuse_if_missing, Allowed, AllowedSet, Need, SelectError, SelectedControls};
use crate::controls::{
    EntryControls, ExitControls, PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased,
};
use crate::msr;

/// NMIs sent between vCPUs are injected; "virtual NMIs" lets the guest's IRET end the blocking an
/// injected NMI starts and is what NMI-window exiting (for an NMI the guest blocks) depends on.
const PIN_REQUIRED: PinBased = PinBased::EXTERNAL_INTERRUPT_EXITING
    .union(PinBased::NMI_EXITING)
    .union(PinBased::VIRTUAL_NMIS)
    .union(PinBased::PROCESS_POSTED_INTERRUPTS);

const PRIMARY_REQUIRED: PrimaryProcBased = PrimaryProcBased::USE_TPR_SHADOW
    .union(PrimaryProcBased::USE_IO_BITMAPS)
    .union(PrimaryProcBased::USE_MSR_BITMAPS)
    .union(PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS);

/// Controls that must be allowed to be 0: an idle guest halts its own CPU; I/O goes through the
/// bitmaps unless the partition is granted no port (`SelectedControls::with_port_exiting`).
const PRIMARY_FORBIDDEN: PrimaryProcBased =
    PrimaryProcBased::HLT_EXITING.union(PrimaryProcBased::UNCONDITIONAL_IO_EXITING);

const SECONDARY_REQUIRED: SecondaryProcBased = SecondaryProcBased::ENABLE_EPT
    .union(SecondaryProcBased::VIRTUALIZE_X2APIC_MODE)
    .union(SecondaryProcBased::APIC_REGISTER_VIRTUALIZATION)
    .union(SecondaryProcBased::VIRTUAL_INTERRUPT_DELIVERY);

/// Set when allowed: RDTSCP and INVPCID so 64-bit guests may use them instead of taking #UD;
/// WBINVD exiting so a guest's WBINVD does not flush the cache its neighbours share (the exit
/// completes it without a flush); VMM bus-lock detection so every bus lock a guest takes is
/// counted (CPUID passes WBNOINVD only with WBINVD exiting; `cargo xtask explain` says when a
/// board's CPUs cannot contain a bus-locking guest).
const SECONDARY_OPTIONAL: SecondaryProcBased = SecondaryProcBased::ENABLE_RDTSCP
    .union(SecondaryProcBased::ENABLE_INVPCID)
    .union(SecondaryProcBased::WBINVD_EXITING)
    .union(SecondaryProcBased::VMM_BUS_LOCK_DETECTION);

/// Must stay 0 with "virtualize x2APIC mode" (SDM Vol. 3C 26.2.1.1).
const SECONDARY_FORBIDDEN: SecondaryProcBased = SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES;

const EXIT_REQUIRED: ExitControls = ExitControls::HOST_ADDRESS_SPACE_SIZE
    .union(ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT)
    .union(ExitControls::SAVE_IA32_EFER)
    .union(ExitControls::LOAD_IA32_EFER)
    .union(ExitControls::SAVE_IA32_PAT)
    .union(ExitControls::LOAD_IA32_PAT);

const ENTRY_REQUIRED: EntryControls = EntryControls::IA32E_MODE_GUEST
    .union(EntryControls::LOAD_IA32_EFER)
    .union(EntryControls::LOAD_IA32_PAT);

/// EPT capabilities the builders rely on: (bit in IA32_VMX_EPT_VPID_CAP, SDM name).
const EPT_REQUIRED: [(u8, &str); 5] = [
    (6, "page-walk length of 4"),
    (14, "write-back EPT paging-structure memory type"),
    (16, "2-MByte EPT pages"),
    (20, "INVEPT"),
    (25, "single-context INVEPT"),
];

/// `Err` naming the first EPT capability (SDM Vol. 3D A.10) the builders need that is missing.
pub fn check_ept_capabilities(ept_vpid: u64) -> Result<(), SelectError> {
    for (bit, name) in EPT_REQUIRED {
        if ept_vpid & (1 << bit) == 0 {
            return Err(SelectError::EptCapability {
                msr: msr::IA32_VMX_EPT_VPID_CAP,
                bit,
                name,
            });
        }
    }
    Ok(())
}

/// Every control word Tessera writes, with IPI virtualization on or off.
pub fn control_words(allowed: &AllowedSet, ipiv: bool) -> Result<SelectedControls, SelectError> {
    let mut primary_required = PRIMARY_REQUIRED;
    let mut tertiary_required = TertiaryProcBased::empty();
    if ipiv {
        primary_required |= PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS;
        tertiary_required |= TertiaryProcBased::IPI_VIRTUALIZATION;
    }
    let pin = word(&allowed.pin, PIN_REQUIRED.bits().into(), 0, 0)?;
    let primary = word(
        &allowed.primary,
        primary_required.bits().into(),
        0,
        PRIMARY_FORBIDDEN.bits().into(),
    )?;
    let secondary = word(
        &allowed.secondary,
        SECONDARY_REQUIRED.bits().into(),
        SECONDARY_OPTIONAL.bits().into(),
        SECONDARY_FORBIDDEN.bits().into(),
    )?;
    let tertiary = word(&allowed.tertiary, tertiary_required.bits(), 0, 0)?;
    let exit = word(&allowed.exit, EXIT_REQUIRED.bits().into(), 0, 0)?;
    let entry = word(&allowed.entry, ENTRY_REQUIRED.bits().into(), 0, 0)?;
    Ok(SelectedControls {
        pin: PinBased::from_bits_retain(pin as u32),
        primary: PrimaryProcBased::from_bits_retain(primary as u32),
        secondary: SecondaryProcBased::from_bits_retain(secondary as u32),
        tertiary: TertiaryProcBased::from_bits_retain(tertiary),
        exit: ExitControls::from_bits_retain(exit as u32),
        entry: EntryControls::from_bits_retain(entry as u32),
        ipiv,
        ipiv_unavailable: None,
        preemption_timer_rate: 0,
        apic_timer_virtualization: false,
        timer_virtualization_unavailable: None,
    })
}

/// One control word: fails on a required bit that may not be 1 or a forbidden bit that must be 1.
fn word(
    allowed: &Allowed,
    required: u64,
    optional: u64,
    forbidden: u64,
) -> Result<u64, SelectError> {
    refuse_if_missing(allowed, required, Need::Tessera)?;
    if let Some(bit) = allowed.first_forced(forbidden) {
        return Err(SelectError::Forced {
            group: allowed.group,
            msr: allowed.msr,
            bit,
        });
    }
    Ok(allowed.word(required, optional))
}
