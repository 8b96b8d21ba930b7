//! Fills a VMCS for one self-test guest: 64-bit, on the host's own GDT and page tables, with the
//! virtual-APIC page, MSR bitmap (nothing intercepted), posted-interrupt descriptor and PID table.

use crate::cases::{LAST_PID_INDEX, NOTIFICATION_VECTOR};
use crate::controls::Words;
use tessera_arch::gdt::{KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR, TSS_SELECTOR};
use tessera_arch::vmx::test_hooks::PidTable;
use tessera_arch::vmx::{ActiveVmcs, Page, VmcsError};
use tessera_vmx::fields::{
    Field16Control as C16, Field16Guest as G16, Field32Control as C32, Field32Guest as G32,
    Field64Control as C64, Field64Guest as G64, NaturalControl as CN, NaturalGuest as GN,
};
use tessera_vmx::tables::PostedInterruptDescriptor;
use x86_64::instructions::tables::sgdt;
use x86_64::registers::control::{Cr0, Cr3, Cr4};

/// Where a guest starts and what it runs with.
pub struct GuestStart {
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
    pub idt_base: u64,
}

/// The memory the processor uses for one vCPU.
pub struct VcpuMemory {
    pub virtual_apic: &'static Page,
    pub msr_bitmap: &'static Page,
    pub pid: &'static PostedInterruptDescriptor,
    /// `None` when the processor does not offer IPIv (its VMCS fields then do not exist: VMWRITE
    /// fails with error 12).
    pub pid_table: Option<&'static PidTable>,
}

/// Access rights: 64-bit code, data, busy 64-bit TSS, unusable (SDM 25.4.1).
const AR_CODE64: u64 = 0xA09B;
const AR_DATA: u64 = 0xC093;
const AR_TSS_BUSY: u64 = 0x8B;
const AR_UNUSABLE: u64 = 0x1_0000;

/// Writes controls, guest state, host state and the APIC-virtualization structures.
pub fn configure(
    vmcs: &mut ActiveVmcs,
    words: &Words,
    memory: &VcpuMemory,
    start: &GuestStart,
) -> Result<(), VmcsError> {
    write_controls(vmcs, words)?;
    vmcs.set_page(C64::MsrBitmap.encoding(), memory.msr_bitmap)?;
    vmcs.set_page(C64::VirtualApicAddress.encoding(), memory.virtual_apic)?;
    vmcs.set_posted_interrupt_descriptor(NOTIFICATION_VECTOR, memory.pid)?;
    if let Some(table) = memory.pid_table {
        vmcs.set_pid_pointer_table(table, LAST_PID_INDEX)?;
    }
    write_segments(vmcs, start.idt_base)?;
    write_guest_registers(vmcs, start)?;
    vmcs.set_host_state()
}

fn write_controls(vmcs: &mut ActiveVmcs, w: &Words) -> Result<(), VmcsError> {
    vmcs.write_raw(C32::PinBasedControls.encoding(), w.pin)?;
    vmcs.write_raw(C32::ProcBasedControls.encoding(), w.primary)?;
    vmcs.write_raw(C32::SecondaryProcBasedControls.encoding(), w.secondary)?;
    if w.primary & (1 << 17) != 0 {
        vmcs.write_raw(C64::TertiaryProcBasedControls.encoding(), w.tertiary)?;
    }
    vmcs.write_raw(C32::ExitControls.encoding(), w.exit)?;
    vmcs.write_raw(C32::EntryControls.encoding(), w.entry)?;
    for field in [
        C32::ExceptionBitmap,
        C32::Cr3TargetCount,
        C32::ExitMsrStoreCount,
        C32::ExitMsrLoadCount,
    ] {
        vmcs.write_raw(field.encoding(), 0)?;
    }
    for field in [
        C32::EntryMsrLoadCount,
        C32::EntryInterruptionInfo,
        C32::TprThreshold,
    ] {
        vmcs.write_raw(field.encoding(), 0)?;
    }
    for field in [
        C64::EoiExitBitmap0,
        C64::EoiExitBitmap1,
        C64::EoiExitBitmap2,
        C64::EoiExitBitmap3,
    ] {
        vmcs.write_raw(field.encoding(), 0)?;
    }
    for field in [
        CN::Cr0GuestHostMask,
        CN::Cr4GuestHostMask,
        CN::Cr0ReadShadow,
        CN::Cr4ReadShadow,
    ] {
        vmcs.write_raw(field.encoding(), 0)?;
    }
    Ok(())
}

fn write_segments(vmcs: &mut ActiveVmcs, idt_base: u64) -> Result<(), VmcsError> {
    let data = KERNEL_DATA_SELECTOR as u64;
    let segments = [
        (
            G16::EsSelector,
            G32::EsLimit,
            G32::EsAccessRights,
            GN::EsBase,
        ),
        (
            G16::SsSelector,
            G32::SsLimit,
            G32::SsAccessRights,
            GN::SsBase,
        ),
        (
            G16::DsSelector,
            G32::DsLimit,
            G32::DsAccessRights,
            GN::DsBase,
        ),
        (
            G16::FsSelector,
            G32::FsLimit,
            G32::FsAccessRights,
            GN::FsBase,
        ),
        (
            G16::GsSelector,
            G32::GsLimit,
            G32::GsAccessRights,
            GN::GsBase,
        ),
    ];
    for (selector, limit, rights, base) in segments {
        write_segment(
            vmcs,
            [
                selector.encoding(),
                limit.encoding(),
                rights.encoding(),
                base.encoding(),
            ],
            [data, 0xFFFF_FFFF, AR_DATA, 0],
        )?;
    }
    let cs = [
        G16::CsSelector.encoding(),
        G32::CsLimit.encoding(),
        G32::CsAccessRights.encoding(),
        GN::CsBase.encoding(),
    ];
    write_segment(
        vmcs,
        cs,
        [KERNEL_CODE_SELECTOR as u64, 0xFFFF_FFFF, AR_CODE64, 0],
    )?;
    let ldtr = [
        G16::LdtrSelector.encoding(),
        G32::LdtrLimit.encoding(),
        G32::LdtrAccessRights.encoding(),
        GN::LdtrBase.encoding(),
    ];
    write_segment(vmcs, ldtr, [0, 0, AR_UNUSABLE, 0])?;
    let tr = [
        G16::TrSelector.encoding(),
        G32::TrLimit.encoding(),
        G32::TrAccessRights.encoding(),
        GN::TrBase.encoding(),
    ];
    write_segment(
        vmcs,
        tr,
        [
            TSS_SELECTOR as u64,
            0x67,
            AR_TSS_BUSY,
            tessera_arch::percpu::current_tss_addr(),
        ],
    )?;
    let gdt = sgdt();
    vmcs.write_raw(GN::GdtrBase.encoding(), gdt.base.as_u64())?;
    vmcs.write_raw(G32::GdtrLimit.encoding(), gdt.limit as u64)?;
    vmcs.write_raw(GN::IdtrBase.encoding(), idt_base)?;
    vmcs.write_raw(G32::IdtrLimit.encoding(), 0xFFF)
}

fn write_segment(
    vmcs: &mut ActiveVmcs,
    fields: [u32; 4],
    values: [u64; 4],
) -> Result<(), VmcsError> {
    for (field, value) in fields.into_iter().zip(values) {
        vmcs.write_raw(field, value)?;
    }
    Ok(())
}

fn write_guest_registers(vmcs: &mut ActiveVmcs, start: &GuestStart) -> Result<(), VmcsError> {
    let (frame, flags) = Cr3::read_raw();
    let writes = [
        (GN::Cr0.encoding(), Cr0::read_raw()),
        (
            GN::Cr3.encoding(),
            frame.start_address().as_u64() | flags as u64,
        ),
        (GN::Cr4.encoding(), Cr4::read_raw()),
        (GN::Dr7.encoding(), 0x400),
        (GN::Rsp.encoding(), start.rsp),
        (GN::Rip.encoding(), start.rip),
        (GN::Rflags.encoding(), start.rflags),
        (GN::PendingDebugExceptions.encoding(), 0),
        (GN::Ia32SysenterEsp.encoding(), 0),
        (GN::Ia32SysenterEip.encoding(), 0),
        (G32::Ia32SysenterCs.encoding(), 0),
        (G32::InterruptibilityState.encoding(), 0),
        (G32::ActivityState.encoding(), 0),
        (G16::InterruptStatus.encoding(), 0),
        (G64::VmcsLinkPointer.encoding(), u64::MAX),
        (
            C16::PostedInterruptNotificationVector.encoding(),
            NOTIFICATION_VECTOR as u64,
        ),
    ];
    for (field, value) in writes {
        vmcs.write_raw(field, value)?;
    }
    Ok(())
}
