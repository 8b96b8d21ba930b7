//! Filling one vCPU's VMCS: the control and address fields through tessera-arch's `configure`
//! (the selected controls, checked there, and the partition's sealed tables), then the guest state
//! for a 64-bit start at the image entry.

use crate::heap::NOTIFICATION_VECTOR;
use crate::partition::hermit::EntryRegisters;
use crate::vcpu::launch::Launch;
use core::fmt;
use tessera_arch::msr;
use tessera_arch::vmx::{ActiveVmcs, ConfigureError, VcpuTables, VmcsError};
use tessera_manifest::Partition;
use tessera_vmx::fields::Field64Guest as G64;
use tessera_vmx::guest_state::{
    guest_state_fields, Activity, FixedBits, GuestBootLayout, GuestEntry,
};
use tessera_vmx::msr as m;
use tessera_vmx::select::SelectedControls;

/// Why the VMCS could not be filled.
#[derive(Debug, Clone, Copy)]
pub enum ConfigError {
    Configure(ConfigureError),
    Vmcs(u32, VmcsError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Configure(e) => write!(f, "control fields: {e}"),
            ConfigError::Vmcs(field, e) => write!(f, "VMWRITE {field:#x}: {e}"),
        }
    }
}

/// Writes every field of the current VMCS for vCPU `launch` of `part` (entry at `rip` with
/// `entry`'s RSP and EFER).
pub fn configure(
    vmcs: &mut ActiveVmcs,
    launch: &Launch,
    controls: &SelectedControls,
    layout: &GuestBootLayout,
    (rip, registers): (u64, &EntryRegisters),
) -> Result<(), ConfigError> {
    let tables = VcpuTables {
        ept: launch.ept,
        io_bitmaps: launch.io_bitmaps,
        msr_bitmaps: launch.msr_bitmaps,
        virtual_apic: &launch.pages.virtual_apic,
        pid: launch.pid,
        pid_table: launch.pid_table,
    };
    vmcs.configure(controls, NOTIFICATION_VECTOR, &tables)
        .map_err(ConfigError::Configure)?;
    write_guest_state(vmcs, layout, rip, registers)
}

/// The guest state for a 64-bit start at `rip`, each field written as tessera-vmx gives it (no list
/// on the host stack); after the first VMWRITE that fails, none more (the error names its field).
fn write_guest_state(
    vmcs: &mut ActiveVmcs,
    layout: &GuestBootLayout,
    rip: u64,
    registers: &EntryRegisters,
) -> Result<(), ConfigError> {
    let entry = GuestEntry {
        rip,
        rsp: registers.rsp,
        activity: Activity::Active,
        cr0_fixed: fixed(m::IA32_VMX_CR0_FIXED0, m::IA32_VMX_CR0_FIXED1),
        cr4_fixed: fixed(m::IA32_VMX_CR4_FIXED0, m::IA32_VMX_CR4_FIXED1),
    };
    let mut failed = None;
    guest_state_fields(layout, &entry, &mut |field, value| {
        if failed.is_none() {
            if let Err(e) = vmcs.write_guest_state(field, value) {
                failed = Some(ConfigError::Vmcs(field, e));
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    vmcs.write(G64::Ia32Efer, registers.efer)
        .map_err(|e| ConfigError::Vmcs(G64::Ia32Efer.encoding(), e))
}

fn fixed(fixed0: u32, fixed1: u32) -> FixedBits {
    FixedBits {
        fixed0: msr::read(fixed0),
        fixed1: msr::read(fixed1),
    }
}

/// The guest's RIP at entry: the image's entry point.
pub fn entry_point(part: &Partition<'_>) -> Option<u64> {
    part.image.map(|i| i.entry)
}
