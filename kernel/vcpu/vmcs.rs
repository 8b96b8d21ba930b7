//! Filling one vCPU's VMCS: control fields from the selected controls (address fields through
//! tessera-arch's typed setters), guest state for a 64-bit start at the image entry, host state.

use crate::heap::NOTIFICATION_VECTOR;
use crate::partition::hermit::EntryRegisters;
use crate::vcpu::launch::Launch;
use core::fmt;
use tessera_arch::msr;
use tessera_arch::vmx::{check_direct_write, ActiveVmcs, VmcsError};
use tessera_manifest::Partition;
use tessera_vmx::fields::{Field64Control as C64, Field64Guest as G64};
use tessera_vmx::guest_state::{
    control_writes, guest_state_writes, Activity, ControlValues, FixedBits, GuestBootLayout,
    GuestEntry, SetupError,
};
use tessera_vmx::msr as m;
use tessera_vmx::select::SelectedControls;
use tessera_vmx::tables::eptp;

/// Why the VMCS could not be filled.
#[derive(Debug, Clone, Copy)]
pub enum ConfigError {
    Setup(SetupError),
    Vmcs(u32, VmcsError),
    PidTable(VmcsError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Setup(e) => write!(f, "control fields: {e:?}"),
            ConfigError::Vmcs(field, e) => write!(f, "VMWRITE {field:#x}: {e:?}"),
            ConfigError::PidTable(e) => write!(f, "PID-pointer table: {e:?}"),
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
    let values = ControlValues {
        controls: *controls,
        posted_interrupt_vector: NOTIFICATION_VECTOR,
        last_pid_index: Some(launch.last_pid_index),
    };
    let writes = control_writes(&values).map_err(ConfigError::Setup)?;
    for &(field, value) in writes.as_slice() {
        match check_direct_write(field) {
            Ok(()) => write(vmcs, field, value)?,
            Err(e) => return Err(ConfigError::Vmcs(field, VmcsError::Refused(e))),
        }
    }
    addresses(vmcs, launch, controls.ipiv)?;
    let entry = GuestEntry {
        rip,
        rsp: registers.rsp,
        activity: Activity::Active,
        cr0_fixed: fixed(m::IA32_VMX_CR0_FIXED0, m::IA32_VMX_CR0_FIXED1),
        cr4_fixed: fixed(m::IA32_VMX_CR4_FIXED0, m::IA32_VMX_CR4_FIXED1),
    };
    for &(field, value) in guest_state_writes(layout, &entry).as_slice() {
        write(vmcs, field, value)?;
    }
    write(vmcs, G64::Ia32Efer.encoding(), registers.efer)?;
    vmcs.set_host_state()
        .map_err(|e| ConfigError::Vmcs(0x6C00, e))
}

fn addresses(vmcs: &mut ActiveVmcs, launch: &Launch, ipiv: bool) -> Result<(), ConfigError> {
    let m = &launch.memory;
    let pages = [
        (C64::IoBitmapA, launch.io_bitmaps[0]),
        (C64::IoBitmapB, launch.io_bitmaps[1]),
        (C64::MsrBitmap, m.msr_bitmap),
        (C64::VirtualApicAddress, m.virtual_apic),
    ];
    for (field, page) in pages {
        let encoding = field.encoding();
        vmcs.set_page(encoding, page)
            .map_err(|e| ConfigError::Vmcs(encoding, e))?;
    }
    vmcs.set_posted_interrupt_descriptor(NOTIFICATION_VECTOR, m.pid)
        .map_err(|e| ConfigError::Vmcs(0x2016, e))?;
    let flags = eptp(launch.ept_root.phys_addr()) & 0xFFF;
    vmcs.set_eptp(launch.ept_root, flags as u16)
        .map_err(|e| ConfigError::Vmcs(0x201A, e))?;
    if ipiv {
        vmcs.set_pid_pointer_table(launch.pid_table, launch.last_pid_index)
            .map_err(ConfigError::PidTable)?;
    }
    Ok(())
}

fn write(vmcs: &mut ActiveVmcs, field: u32, value: u64) -> Result<(), ConfigError> {
    vmcs.write(field, value)
        .map_err(|e| ConfigError::Vmcs(field, e))
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
