//! Choosing the VMX control words from the capability MSRs and what Tessera wants (SDM Vol. 3D A.3-A.5,
//! A.10; Vol. 3C 26.2.1.1 "VM-Execution Control Fields" checks). Pure: the kernel reads the MSRs,
//! calls [`select`] and writes the result to the VMCS, or refuses to boot with the error's message.

mod allowed;
mod entry_rules;
mod error;
mod names;
mod wanted;

pub mod msr_sets;
#[cfg(test)]
mod tests;

pub use allowed::Allowed;
pub use entry_rules::{check_entry_rules, BrokenRule};
pub use error::{msr_name, Need, SelectError};
pub use names::control_name;

use crate::controls::{
    EntryControls, ExitControls, PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased,
};
use crate::msr;

/// Raw values of the VMX capability MSRs, as RDMSR returned them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapabilityMsrs {
    /// IA32_VMX_BASIC (0x480).
    pub basic: u64,
    /// IA32_VMX_PINBASED_CTLS (0x481).
    pub pinbased: u64,
    /// IA32_VMX_PROCBASED_CTLS (0x482).
    pub procbased: u64,
    /// IA32_VMX_EXIT_CTLS (0x483).
    pub exit: u64,
    /// IA32_VMX_ENTRY_CTLS (0x484).
    pub entry: u64,
    /// IA32_VMX_PROCBASED_CTLS2 (0x48B); 0 when primary bit 63 (activate secondary) is not allowed-1.
    pub procbased2: u64,
    /// IA32_VMX_EPT_VPID_CAP (0x48C); 0 when unavailable.
    pub ept_vpid: u64,
    /// IA32_VMX_TRUE_PINBASED_CTLS (0x48D); read only when `basic` bit 55 is 1.
    pub true_pinbased: u64,
    /// IA32_VMX_TRUE_PROCBASED_CTLS (0x48E).
    pub true_procbased: u64,
    /// IA32_VMX_TRUE_EXIT_CTLS (0x48F).
    pub true_exit: u64,
    /// IA32_VMX_TRUE_ENTRY_CTLS (0x490).
    pub true_entry: u64,
    /// IA32_VMX_PROCBASED_CTLS3 (0x492); 0 when primary bit 49 (activate tertiary) is not allowed-1.
    pub procbased3: u64,
    /// IA32_VMX_MISC (0x485): bits 4:0 give the VMX-preemption timer's rate.
    pub misc: u64,
}

/// One VMX control word, for messages and for picking the capability MSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlGroup {
    PinBased,
    PrimaryProcBased,
    SecondaryProcBased,
    TertiaryProcBased,
    Exit,
    Entry,
}

impl ControlGroup {
    /// How the SDM names this control word.
    pub const fn name(self) -> &'static str {
        match self {
            ControlGroup::PinBased => "pin-based VM-execution",
            ControlGroup::PrimaryProcBased => "primary processor-based VM-execution",
            ControlGroup::SecondaryProcBased => "secondary processor-based VM-execution",
            ControlGroup::TertiaryProcBased => "tertiary processor-based VM-execution",
            ControlGroup::Exit => "VM-exit",
            ControlGroup::Entry => "VM-entry",
        }
    }
}

/// What the manifest says about IPI virtualization (`ipiv = "required" | "preferred" | "off"`;
/// the plan holds this type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpivMode {
    /// Fail the build (on a board without IPIv) and refuse to boot without IPIv.
    Required,
    /// Use IPIv when the CPU offers it; otherwise ICR writes exit and the hypervisor posts.
    Preferred,
    /// Never use IPIv.
    Off,
}

impl IpivMode {
    /// The spelling used in manifests and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            IpivMode::Required => "required",
            IpivMode::Preferred => "preferred",
            IpivMode::Off => "off",
        }
    }
}

/// The control words to write to the VMCS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectedControls {
    pub pin: PinBased,
    pub primary: PrimaryProcBased,
    pub secondary: SecondaryProcBased,
    /// Written to field 0x2034 only when `primary` has "activate tertiary controls".
    pub tertiary: TertiaryProcBased,
    pub exit: ExitControls,
    pub entry: EntryControls,
    /// True when "IPI virtualization" is set: the kernel must write the PID-pointer table fields.
    pub ipiv: bool,
    /// With `IpivMode::Preferred` on a CPU without IPIv: why it is off (for the boot log).
    pub ipiv_unavailable: Option<SelectError>,
    /// The VMX-preemption timer counts down once every `2^preemption_timer_rate` TSC cycles
    /// (IA32_VMX_MISC bits 4:0). "Activate VMX-preemption timer" is allowed; the kernel sets it per
    /// vCPU while a guest timer is armed.
    pub preemption_timer_rate: u8,
    /// Whether the CPU offers APIC-timer virtualization ("activate tertiary controls" and
    /// IA32_VMX_PROCBASED_CTLS3 bit 8). Used per partition, so not set in `tertiary` here.
    pub apic_timer_virtualization: bool,
    /// When it is not offered: the control and MSR that lack it (worded for `timer = "virtualized"`
    /// partitions, which refuse to boot with it; [`SelectError`] with `Need::TimerVirtualized`).
    pub timer_virtualization_unavailable: Option<SelectError>,
}

/// How a vCPU's IN, INS, OUT and OUTS exit (SDM Vol. 3C, "Instructions That Cause VM Exits
/// Conditionally"). Both forms keep every port
/// the partition was not granted away from the hardware; only the first needs bitmap pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortExiting {
    /// "use I/O bitmaps" (8 KiB, A and B): a granted port passes, every other one exits.
    /// "Unconditional I/O exiting" is then ignored.
    Bitmaps,
    /// "unconditional I/O exiting" with "use I/O bitmaps" off: every port access exits, as with
    /// all-denied bitmaps, and the bitmap address fields are not used (a partition granted no
    /// port).
    Unconditional,
}

impl PortExiting {
    /// The form for a partition that is granted ports (`grants_ports`) or none.
    pub const fn for_partition(grants_ports: bool) -> Self {
        match grants_ports {
            true => PortExiting::Bitmaps,
            false => PortExiting::Unconditional,
        }
    }

    /// The form `primary` selects, or `None` when both controls are 0: then every IN and OUT
    /// reaches the hardware.
    pub const fn of(primary: PrimaryProcBased) -> Option<Self> {
        if primary.contains(PrimaryProcBased::USE_IO_BITMAPS) {
            Some(PortExiting::Bitmaps)
        } else if primary.contains(PrimaryProcBased::UNCONDITIONAL_IO_EXITING) {
            Some(PortExiting::Unconditional)
        } else {
            None
        }
    }
}

impl SelectedControls {
    /// The control words of a vCPU whose ports exit as `form` says ([`select`] checked that the
    /// CPU allows both forms; the words it returns use the bitmaps).
    pub fn with_port_exiting(mut self, form: PortExiting) -> Self {
        let (on, off) = match form {
            PortExiting::Bitmaps => (
                PrimaryProcBased::USE_IO_BITMAPS,
                PrimaryProcBased::UNCONDITIONAL_IO_EXITING,
            ),
            PortExiting::Unconditional => (
                PrimaryProcBased::UNCONDITIONAL_IO_EXITING,
                PrimaryProcBased::USE_IO_BITMAPS,
            ),
        };
        self.primary.insert(on);
        self.primary.remove(off);
        self
    }

    /// The control words of a vCPU whose timer may use APIC-timer virtualization: "activate
    /// tertiary controls" set, so that the kernel can set and clear tertiary bit 8 (written with
    /// the rest of `tertiary`, which keeps bit 8 clear until the guest's LVT asks for it).
    pub fn with_timer_virtualization(mut self) -> Self {
        if self.apic_timer_virtualization {
            self.primary |= PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS;
        }
        self
    }
}

/// Picks the control words, or names the first control or capability the CPU lacks.
pub fn select(msrs: &CapabilityMsrs, ipiv_mode: IpivMode) -> Result<SelectedControls, SelectError> {
    let allowed = AllowedSet::from_msrs(msrs);
    wanted::check_ept_capabilities(msrs.ept_vpid)?;
    let offered = ipiv_check(&allowed, ipiv_mode);
    let ipiv = ipiv_mode != IpivMode::Off && offered.is_ok();
    if let (IpivMode::Required, Err(error)) = (ipiv_mode, offered) {
        return Err(error);
    }
    let mut selected = wanted::control_words(&allowed, ipiv)?;
    refuse_if_missing(
        &allowed.pin,
        PinBased::ACTIVATE_PREEMPTION_TIMER.bits().into(),
        Need::Tessera,
    )?;
    // A partition granted no port exits on every port access without bitmap pages:
    // "unconditional I/O exiting" 1 with "use I/O bitmaps" 0.
    refuse_if_missing(
        &allowed.primary,
        PrimaryProcBased::UNCONDITIONAL_IO_EXITING.bits().into(),
        Need::Tessera,
    )?;
    if let Some(bit) = allowed
        .primary
        .first_forced(PrimaryProcBased::USE_IO_BITMAPS.bits().into())
    {
        return Err(SelectError::Forced {
            group: allowed.primary.group,
            msr: allowed.primary.msr,
            bit,
        });
    }
    selected.preemption_timer_rate = (msrs.misc & 0x1F) as u8;
    let timer = apic_timer_virtualization_check(&allowed, Need::TimerVirtualized);
    selected.apic_timer_virtualization = timer.is_ok();
    selected.timer_virtualization_unavailable = timer.err();
    selected.ipiv_unavailable = match ipiv_mode {
        IpivMode::Preferred => offered.err(),
        _ => None,
    };
    Ok(selected)
}

/// Whether the CPU allows both "activate tertiary controls" and "IPI virtualization".
pub fn ipiv_offered(allowed: &AllowedSet) -> bool {
    ipiv_check(allowed, IpivMode::Required).is_ok()
}

/// Whether the CPU allows both "activate tertiary controls" and "APIC-timer virtualization".
pub fn apic_timer_virtualization_offered(allowed: &AllowedSet) -> bool {
    apic_timer_virtualization_check(allowed, Need::TimerPreferred).is_ok()
}

/// `Err` naming the first of "activate tertiary controls" and "APIC-timer virtualization" not
/// allowed-1, worded for `need`.
fn apic_timer_virtualization_check(allowed: &AllowedSet, need: Need) -> Result<(), SelectError> {
    let tertiary_bit = PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits() as u64;
    refuse_if_missing(&allowed.primary, tertiary_bit, need)?;
    refuse_if_missing(
        &allowed.tertiary,
        TertiaryProcBased::APIC_TIMER_VIRTUALIZATION.bits(),
        need,
    )
}

/// `Err` naming the first of "activate tertiary controls" and "IPI virtualization" not allowed-1.
fn ipiv_check(allowed: &AllowedSet, mode: IpivMode) -> Result<(), SelectError> {
    let need = match mode {
        IpivMode::Preferred => Need::IpivPreferred,
        _ => Need::IpivRequired,
    };
    let tertiary_bit = PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits() as u64;
    refuse_if_missing(&allowed.primary, tertiary_bit, need)?;
    refuse_if_missing(
        &allowed.tertiary,
        TertiaryProcBased::IPI_VIRTUALIZATION.bits(),
        need,
    )
}

/// `Err` naming the first bit of `wanted` that `allowed` does not allow to be 1.
fn refuse_if_missing(allowed: &Allowed, wanted: u64, need: Need) -> Result<(), SelectError> {
    match allowed.first_refused(wanted) {
        None => Ok(()),
        Some(bit) => Err(SelectError::Refused {
            group: allowed.group,
            msr: allowed.msr,
            bit,
            need,
        }),
    }
}

/// The allowed settings of every control word, from the right MSR (TRUE_* when `basic` bit 55 is 1).
#[derive(Clone, Copy, Debug)]
pub struct AllowedSet {
    pub pin: Allowed,
    pub primary: Allowed,
    pub secondary: Allowed,
    pub tertiary: Allowed,
    pub exit: Allowed,
    pub entry: Allowed,
}

impl AllowedSet {
    /// Reads the allowed settings out of the raw MSR values (SDM Vol. 3D A.2: bit 55 selects TRUE_*).
    pub fn from_msrs(msrs: &CapabilityMsrs) -> Self {
        let true_ctls = msrs.basic & msr::VMX_BASIC_TRUE_CTLS != 0;
        let pick = |plain: (u32, u64), truer: (u32, u64)| if true_ctls { truer } else { plain };
        let pin = pick(
            (msr::IA32_VMX_PINBASED_CTLS, msrs.pinbased),
            (msr::IA32_VMX_TRUE_PINBASED_CTLS, msrs.true_pinbased),
        );
        let primary = pick(
            (msr::IA32_VMX_PROCBASED_CTLS, msrs.procbased),
            (msr::IA32_VMX_TRUE_PROCBASED_CTLS, msrs.true_procbased),
        );
        let exit = pick(
            (msr::IA32_VMX_EXIT_CTLS, msrs.exit),
            (msr::IA32_VMX_TRUE_EXIT_CTLS, msrs.true_exit),
        );
        let entry = pick(
            (msr::IA32_VMX_ENTRY_CTLS, msrs.entry),
            (msr::IA32_VMX_TRUE_ENTRY_CTLS, msrs.true_entry),
        );
        AllowedSet {
            pin: Allowed::from_split_msr(ControlGroup::PinBased, pin.0, pin.1),
            primary: Allowed::from_split_msr(ControlGroup::PrimaryProcBased, primary.0, primary.1),
            secondary: Allowed::from_split_msr(
                ControlGroup::SecondaryProcBased,
                msr::IA32_VMX_PROCBASED_CTLS2,
                msrs.procbased2,
            ),
            tertiary: Allowed::from_allowed1_msr(
                ControlGroup::TertiaryProcBased,
                msr::IA32_VMX_PROCBASED_CTLS3,
                msrs.procbased3,
            ),
            exit: Allowed::from_split_msr(ControlGroup::Exit, exit.0, exit.1),
            entry: Allowed::from_split_msr(ControlGroup::Entry, entry.0, entry.1),
        }
    }
}
