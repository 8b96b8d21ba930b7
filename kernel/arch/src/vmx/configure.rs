//! Configuring a vCPU's VMCS from a validated configuration: the selected controls and the sealed
//! tables (`super::tables`). The controls are checked for what keeps a guest inside its partition
//! before anything is written; the control and address fields then go through the one `unsafe`
//! entry point, here and nowhere else in the hypervisor. Afterwards the one address a running
//! vCPU changes, its MSR bitmap, is chosen among the bitmaps installed here
//! ([`ActiveVmcs::pass_tsc_deadline`]).

use super::posted::descriptor_phys_addr;
use super::tables::VirtualApicPage;
use super::tables::{Ept, IoBitmapPair, MsrBitmaps, PidPointerTable, TscDeadline};
use super::vmcs::{ActiveVmcs, VmcsError};
use tessera_vmx::controls::{PinBased, PrimaryProcBased, SecondaryProcBased, TertiaryProcBased};
use tessera_vmx::fields::Field64Control as C64;
use tessera_vmx::guest_state::{
    address_fields, control_fields, ControlAddresses, ControlValues, FieldSink, SetupError,
};
use tessera_vmx::select::{PortExiting, SelectedControls};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// What the processor reads on its own for one vCPU: only sealed tables and static structures.
pub struct VcpuTables<'a> {
    pub ept: Ept,
    /// The partition's I/O bitmaps, with "use I/O bitmaps"; `None` for a partition granted no
    /// port (its vCPUs exit on every port access: "unconditional I/O exiting").
    pub io_bitmaps: Option<IoBitmapPair>,
    /// The MSR bitmaps the vCPU may use; the VMCS starts with the one trapping
    /// IA32_TSC_DEADLINE.
    pub msr_bitmaps: MsrBitmaps,
    pub virtual_apic: &'a VirtualApicPage,
    pub pid: &'static PostedInterruptDescriptor,
    /// The partition's PID-pointer table (installed only with IPI virtualization).
    pub pid_table: PidPointerTable,
}

/// Why a VMCS was not configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigureError {
    /// The controls would let the guest reach what it was not granted (the rule broken).
    Isolation(&'static str),
    Setup(SetupError),
    /// A VMWRITE failed (field, error).
    Vmcs(u32, VmcsError),
}

impl core::fmt::Display for ConfigureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ConfigureError::Isolation(rule) => write!(f, "controls refused for isolation: {rule}"),
            ConfigureError::Setup(e) => write!(f, "{e}"),
            ConfigureError::Vmcs(field, e) => write!(f, "VMWRITE {field:#x}: {e}"),
        }
    }
}

/// Secondary controls whose structure Tessera never provides: the processor would use an address
/// field left at 0.
const UNPROVIDED_SECONDARY: SecondaryProcBased = SecondaryProcBased::VIRTUALIZE_APIC_ACCESSES
    .union(SecondaryProcBased::VMCS_SHADOWING)
    .union(SecondaryProcBased::ENABLE_VM_FUNCTIONS)
    .union(SecondaryProcBased::ENABLE_PML)
    .union(SecondaryProcBased::EPT_VIOLATION_VE)
    .union(SecondaryProcBased::SUB_PAGE_WRITE_PERMISSIONS)
    .union(SecondaryProcBased::PASID_TRANSLATION);

/// Checks that `c` keeps a guest inside its partition: EPT on; port accesses through the I/O
/// bitmaps, installed (`io_bitmaps`), or every one exiting ("unconditional I/O exiting" with
/// "use I/O bitmaps" off and no bitmaps installed); MSR accesses through the bitmaps (x2APIC MSRs
/// virtualized, so the bitmap's pass-through never reaches the real APIC); host interrupts
/// exiting; no feature whose structure is not installed; and IPI virtualization exactly when the
/// kernel says it installs the PID-pointer table.
pub fn check_isolation(c: &SelectedControls, io_bitmaps: bool) -> Result<(), ConfigureError> {
    let refuse = |rule| Err(ConfigureError::Isolation(rule));
    let secondary_on = c
        .primary
        .contains(PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS);
    let tertiary_on = c
        .primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS);
    if !secondary_on || !c.secondary.contains(SecondaryProcBased::ENABLE_EPT) {
        return refuse("EPT must be enabled");
    }
    match (PortExiting::of(c.primary), io_bitmaps) {
        (Some(PortExiting::Bitmaps), true) | (Some(PortExiting::Unconditional), false) => {}
        (None, _) => {
            return refuse("I/O bitmaps must be used, or every I/O instruction must exit");
        }
        (Some(_), _) => {
            return refuse("I/O bitmaps must be installed exactly when they are used");
        }
    }
    if !c.primary.contains(PrimaryProcBased::USE_MSR_BITMAPS)
        || !c
            .secondary
            .contains(SecondaryProcBased::VIRTUALIZE_X2APIC_MODE)
    {
        return refuse("MSR bitmaps must be used, with x2APIC mode virtualized");
    }
    if !c.pin.contains(PinBased::EXTERNAL_INTERRUPT_EXITING) {
        return refuse("external interrupts must exit");
    }
    if c.secondary.intersects(UNPROVIDED_SECONDARY)
        || (tertiary_on && c.tertiary.contains(TertiaryProcBased::ENABLE_HLAT))
    {
        return refuse("no control may use a structure Tessera does not install");
    }
    let ipiv = tertiary_on && c.tertiary.contains(TertiaryProcBased::IPI_VIRTUALIZATION);
    if ipiv != c.ipiv {
        return refuse(
            "IPI virtualization must be on exactly when the PID-pointer table is installed",
        );
    }
    Ok(())
}

impl ActiveVmcs<'_> {
    /// Writes every control and address field for a vCPU with `controls` (checked by
    /// [`check_isolation`]) and `tables` (sealed: their pages have no writer left), then the host
    /// state.
    pub fn configure(
        &mut self,
        controls: &SelectedControls,
        notification_vector: u8,
        tables: &VcpuTables<'_>,
    ) -> Result<(), ConfigureError> {
        check_isolation(controls, tables.io_bitmaps.is_some())?;
        self.write_controls(controls, notification_vector, tables)?;
        self.write_addresses(controls, tables)?;
        self.msr_bitmaps = Some(tables.msr_bitmaps);
        #[cfg(target_os = "none")]
        self.set_host_state()
            .map_err(|e| ConfigureError::Vmcs(0x6C00, e))?;
        Ok(())
    }

    // Each field is written as tessera-vmx's builders give it (no list of writes on the host
    // stack); the builders refuse a setup before its first write.
    fn write_controls(
        &mut self,
        controls: &SelectedControls,
        notification_vector: u8,
        tables: &VcpuTables<'_>,
    ) -> Result<(), ConfigureError> {
        let values = ControlValues {
            controls: *controls,
            posted_interrupt_vector: notification_vector,
            last_pid_index: Some(tables.pid_table.last_index()),
        };
        let mut sink = SensitiveWrites {
            vmcs: self,
            failed: None,
        };
        control_fields(&values, &mut sink).map_err(ConfigureError::Setup)?;
        sink.result()
    }

    fn write_addresses(
        &mut self,
        controls: &SelectedControls,
        tables: &VcpuTables<'_>,
    ) -> Result<(), ConfigureError> {
        let trapped = tables.msr_bitmaps.get(TscDeadline::Trapped);
        let addresses = ControlAddresses {
            posted_interrupt_descriptor: descriptor_phys_addr(tables.pid),
            virtual_apic_page: tables.virtual_apic.phys_addr(),
            msr_bitmap: trapped.map_or(0, |b| b.phys_addr()),
            io_bitmaps: tables.io_bitmaps.map(|io| io.addresses()),
            eptp: tables.ept.eptp(),
            pid_table: Some(tables.pid_table.phys_addr()),
        };
        let mut sink = SensitiveWrites {
            vmcs: self,
            failed: None,
        };
        address_fields(&addresses, controls.ipiv, &mut sink).map_err(ConfigureError::Setup)?;
        sink.result()
    }

    /// Points the VMCS at the installed MSR bitmap that passes IA32_TSC_DEADLINE (`true`) or the
    /// one that traps it (`false`): the vCPU's timer moving onto APIC-timer virtualization or off
    /// it. The field is read at the next VM entry (this CPU is in VMX root: the guest is not
    /// running), and neither bitmap is written, so other vCPUs running on them are not affected.
    /// Refused (`VmcsError::NoMsrBitmap`) before `configure`, or for `true` when no passing bitmap
    /// was installed.
    pub fn pass_tsc_deadline(&mut self, passed: bool) -> Result<(), VmcsError> {
        let which = match passed {
            true => TscDeadline::Passed,
            false => TscDeadline::Trapped,
        };
        let bitmap = self
            .msr_bitmaps
            .as_ref()
            .and_then(|set| set.get(which))
            .ok_or(VmcsError::NoMsrBitmap)?;
        let address = bitmap.phys_addr();
        // SAFETY: a sealed MSR bitmap installed by `configure` for this VMCS (4 KiB aligned,
        // built with the same x2APIC policy as the one it replaces, never written again).
        unsafe { self.write_sensitive(C64::MsrBitmap.encoding(), address) }
    }
}

/// VMWRITEs of `configure`'s control and address fields, one at a time; after the first that
/// fails, none more (the error names that field).
struct SensitiveWrites<'v, 'a> {
    vmcs: &'v mut ActiveVmcs<'a>,
    failed: Option<(u32, VmcsError)>,
}

impl FieldSink for SensitiveWrites<'_, '_> {
    fn push(&mut self, field: u32, value: u64) {
        if self.failed.is_some() {
            return;
        }
        // SAFETY: only `configure` makes this sink, after checking the controls
        // (`check_isolation`); every address is a sealed table (no writer left once installed),
        // the vCPU's virtual-APIC page or its static descriptor, each aligned as tessera-vmx's
        // `address_fields` checked before its first write.
        if let Err(e) = unsafe { self.vmcs.write_sensitive(field, value) } {
            self.failed = Some((field, e));
        }
    }
}

impl SensitiveWrites<'_, '_> {
    fn result(self) -> Result<(), ConfigureError> {
        match self.failed {
            Some((field, e)) => Err(ConfigureError::Vmcs(field, e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_vmx::controls::{EntryControls, ExitControls};

    fn tessera_like() -> SelectedControls {
        SelectedControls {
            pin: PinBased::EXTERNAL_INTERRUPT_EXITING | PinBased::PROCESS_POSTED_INTERRUPTS,
            primary: PrimaryProcBased::ACTIVATE_SECONDARY_CONTROLS
                | PrimaryProcBased::USE_IO_BITMAPS
                | PrimaryProcBased::USE_MSR_BITMAPS
                | PrimaryProcBased::USE_TPR_SHADOW,
            secondary: SecondaryProcBased::ENABLE_EPT | SecondaryProcBased::VIRTUALIZE_X2APIC_MODE,
            tertiary: TertiaryProcBased::empty(),
            exit: ExitControls::empty(),
            entry: EntryControls::empty(),
            ipiv: false,
            ipiv_unavailable: None,
            preemption_timer_rate: 0,
            apic_timer_virtualization: false,
            timer_virtualization_unavailable: None,
        }
    }

    #[test]
    fn isolation_needs_ept_bitmaps_and_interrupt_exiting() {
        assert_eq!(check_isolation(&tessera_like(), true), Ok(()));
        let mut c = tessera_like();
        c.secondary.remove(SecondaryProcBased::ENABLE_EPT);
        assert!(check_isolation(&c, true).is_err());
        let mut c = tessera_like();
        c.secondary
            .remove(SecondaryProcBased::VIRTUALIZE_X2APIC_MODE);
        assert!(check_isolation(&c, true).is_err());
        let mut c = tessera_like();
        c.primary.remove(PrimaryProcBased::USE_MSR_BITMAPS);
        assert!(check_isolation(&c, true).is_err());
        let mut c = tessera_like();
        c.pin.remove(PinBased::EXTERNAL_INTERRUPT_EXITING);
        assert!(check_isolation(&c, true).is_err());
        let mut c = tessera_like();
        c.secondary.insert(SecondaryProcBased::ENABLE_PML);
        assert!(check_isolation(&c, true).is_err());
    }

    /// Ports stay isolated in exactly two forms: the bitmaps used and installed, or every I/O
    /// instruction exiting with the bitmaps neither used nor installed. Every other combination of
    /// the two controls and the installed bitmaps is refused.
    #[test]
    fn ports_exit_through_installed_bitmaps_or_unconditionally() {
        let bitmaps = PrimaryProcBased::USE_IO_BITMAPS;
        let unconditional = PrimaryProcBased::UNCONDITIONAL_IO_EXITING;
        let with = |on: PrimaryProcBased| {
            let mut c = tessera_like();
            c.primary.remove(bitmaps | unconditional);
            c.primary.insert(on);
            c
        };
        let accepted = [
            (bitmaps, true),
            (bitmaps | unconditional, true),
            (unconditional, false),
        ];
        for on in [
            PrimaryProcBased::empty(),
            bitmaps,
            unconditional,
            bitmaps | unconditional,
        ] {
            for installed in [false, true] {
                let verdict = check_isolation(&with(on), installed);
                assert_eq!(
                    verdict.is_ok(),
                    accepted.contains(&(on, installed)),
                    "{on:?}, bitmaps installed: {installed}: {verdict:?}"
                );
            }
        }
        assert_eq!(
            check_isolation(&with(PrimaryProcBased::empty()), false),
            Err(ConfigureError::Isolation(
                "I/O bitmaps must be used, or every I/O instruction must exit"
            ))
        );
        let portless = tessera_like().with_port_exiting(PortExiting::Unconditional);
        assert_eq!(check_isolation(&portless, false), Ok(()));
    }

    #[test]
    fn ipiv_control_and_flag_must_agree() {
        let mut c = tessera_like();
        c.primary
            .insert(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS);
        c.tertiary.insert(TertiaryProcBased::IPI_VIRTUALIZATION);
        assert!(check_isolation(&c, true).is_err());
        c.ipiv = true;
        assert_eq!(check_isolation(&c, true), Ok(()));
        c.primary
            .remove(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS);
        assert!(check_isolation(&c, true).is_err());
    }
}
