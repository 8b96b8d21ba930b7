//! The VM-execution, exit and entry control fields of a vCPU's VMCS, from the selected controls and
//! the addresses of its structures (SDM Vol. 3C 25.6-25.8).

use super::guest::GUEST_CR4;
use super::writes::{FieldSink, FieldWrites};
use crate::controls::PrimaryProcBased;
use crate::fields::{
    Field16Control as C16, Field32Control as C32, Field64Control as C64, NaturalControl as CN,
};
use crate::select::SelectedControls;

/// CR4.VMXE: owned by the hypervisor; the guest reads it as 0 and a write of 1 exits.
const CR4_VMXE: u64 = 1 << 13;

/// The value (non-address) control fields of a vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlValues {
    pub controls: SelectedControls,
    /// Vector the processor treats as "posted interrupts pending" (bits 15:8 of the field stay 0).
    pub posted_interrupt_vector: u8,
    /// The partition's last PID-pointer index; required with IPIv.
    pub last_pid_index: Option<u16>,
}

/// Host-physical addresses the control fields point at (tessera-arch's `ActiveVmcs::configure`
/// fills them from its sealed tables and writes [`address_writes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlAddresses {
    /// 64-byte aligned.
    pub posted_interrupt_descriptor: u64,
    /// 4 KiB aligned, one per vCPU.
    pub virtual_apic_page: u64,
    pub msr_bitmap: u64,
    /// I/O bitmaps A and B, with "use I/O bitmaps"; `None` with "unconditional I/O exiting" (the
    /// address fields are then not used and not written).
    pub io_bitmaps: Option<(u64, u64)>,
    pub eptp: u64,
    /// The partition's PID-pointer table (4 KiB aligned); required with IPIv.
    pub pid_table: Option<u64>,
}

/// Why the control fields cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// A structure address is not aligned as the SDM requires (`what`, address, alignment).
    Misaligned {
        what: &'static str,
        address: u64,
        align_bytes: u64,
    },
    /// IPI virtualization is on but no PID-pointer table (or last index) was given.
    MissingPidTable,
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SetupError::Misaligned {
                what,
                address,
                align_bytes,
            } => write!(
                f,
                "{what} at {address:#x} is not {align_bytes}-byte aligned"
            ),
            SetupError::MissingPidTable => {
                f.write_str("IPI virtualization is on but no PID-pointer table was given")
            }
        }
    }
}

/// Every value control field for the vCPU (no addresses), control words first.
pub fn control_writes(values: &ControlValues) -> Result<FieldWrites, SetupError> {
    let mut w = FieldWrites::new();
    control_fields(values, &mut w)?;
    Ok(w)
}

/// The writes of [`control_writes`] into `w`, one by one; on an error nothing is written.
pub fn control_fields(values: &ControlValues, w: &mut impl FieldSink) -> Result<(), SetupError> {
    let c = &values.controls;
    let last_pid_index = match (c.ipiv, values.last_pid_index) {
        (true, None) => return Err(SetupError::MissingPidTable),
        (true, Some(last)) => Some(last),
        (false, _) => None,
    };
    w.push(C32::PinBasedControls.encoding(), u64::from(c.pin.bits()));
    w.push(
        C32::ProcBasedControls.encoding(),
        u64::from(c.primary.bits()),
    );
    w.push(
        C32::SecondaryProcBasedControls.encoding(),
        u64::from(c.secondary.bits()),
    );
    if c.primary
        .contains(PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS)
    {
        w.push(C64::TertiaryProcBasedControls.encoding(), c.tertiary.bits());
    }
    w.push(C32::ExitControls.encoding(), u64::from(c.exit.bits()));
    w.push(C32::EntryControls.encoding(), u64::from(c.entry.bits()));
    zero_counts_and_events(w);
    w.push(
        C16::PostedInterruptNotificationVector.encoding(),
        u64::from(values.posted_interrupt_vector),
    );
    if let Some(last) = last_pid_index {
        w.push(C16::LastPidPointerIndex.encoding(), u64::from(last));
    }
    w.push(CN::Cr0GuestHostMask.encoding(), 0);
    w.push(CN::Cr4GuestHostMask.encoding(), CR4_VMXE);
    w.push(CN::Cr4ReadShadow.encoding(), GUEST_CR4 & !CR4_VMXE);
    Ok(())
}

/// The address control fields, after checking each alignment; with `ipiv` the PID-pointer table too.
pub fn address_writes(a: &ControlAddresses, ipiv: bool) -> Result<FieldWrites, SetupError> {
    let mut w = FieldWrites::new();
    address_fields(a, ipiv, &mut w)?;
    Ok(w)
}

/// The writes of [`address_writes`] into `w`, one by one; on an error nothing is written.
pub fn address_fields(
    a: &ControlAddresses,
    ipiv: bool,
    w: &mut impl FieldSink,
) -> Result<(), SetupError> {
    check_alignment(a)?;
    let pid_table = match (ipiv, a.pid_table) {
        (true, None) => return Err(SetupError::MissingPidTable),
        (true, Some(table)) => Some(table),
        (false, _) => None,
    };
    if let Some((io_bitmap_a, io_bitmap_b)) = a.io_bitmaps {
        w.push(C64::IoBitmapA.encoding(), io_bitmap_a);
        w.push(C64::IoBitmapB.encoding(), io_bitmap_b);
    }
    w.push(C64::MsrBitmap.encoding(), a.msr_bitmap);
    w.push(C64::VirtualApicAddress.encoding(), a.virtual_apic_page);
    w.push(
        C64::PostedInterruptDescriptor.encoding(),
        a.posted_interrupt_descriptor,
    );
    w.push(C64::Eptp.encoding(), a.eptp);
    if let Some(table) = pid_table {
        w.push(C64::PidPointerTable.encoding(), table);
    }
    Ok(())
}

/// Only #MC intercepted (the hypervisor handles machine checks, `exit::machine_check`), no MSR
/// load/store lists, no event injected, TPR threshold 0, no EOI exits.
fn zero_counts_and_events(w: &mut impl FieldSink) {
    w.push(
        C32::ExceptionBitmap.encoding(),
        u64::from(crate::exit::machine_check::EXCEPTION_BITMAP),
    );
    for field in [
        C32::PageFaultErrorCodeMask,
        C32::PageFaultErrorCodeMatch,
        C32::Cr3TargetCount,
        C32::ExitMsrStoreCount,
        C32::ExitMsrLoadCount,
        C32::EntryMsrLoadCount,
        C32::EntryInterruptionInfo,
        C32::TprThreshold,
    ] {
        w.push(field.encoding(), 0);
    }
    for field in [
        C64::EoiExitBitmap0,
        C64::EoiExitBitmap1,
        C64::EoiExitBitmap2,
        C64::EoiExitBitmap3,
    ] {
        w.push(field.encoding(), 0);
    }
}

fn check_alignment(s: &ControlAddresses) -> Result<(), SetupError> {
    let page_aligned = [
        ("virtual-APIC page", s.virtual_apic_page),
        ("MSR bitmap", s.msr_bitmap),
        ("I/O bitmap A", s.io_bitmaps.map_or(0, |(a, _)| a)),
        ("I/O bitmap B", s.io_bitmaps.map_or(0, |(_, b)| b)),
        ("EPT PML4 (EPTP bits 51:12)", s.eptp & !0xFFF),
        ("PID-pointer table", s.pid_table.unwrap_or(0)),
    ];
    let checks = page_aligned
        .into_iter()
        .map(|(what, address)| (what, address, 4096));
    let all = checks.chain([(
        "posted-interrupt descriptor",
        s.posted_interrupt_descriptor,
        64,
    )]);
    for (what, address, align_bytes) in all {
        if address % align_bytes != 0 {
            return Err(SetupError::Misaligned {
                what,
                address,
                align_bytes,
            });
        }
    }
    Ok(())
}
