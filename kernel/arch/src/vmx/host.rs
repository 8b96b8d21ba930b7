//! The host-state area of a VMCS, taken from the calling CPU (SDM 25.5 "Host-State Area").

use crate::gdt::{KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR, TSS_SELECTOR};
use crate::msr;
use tessera_vmx::fields::{
    Field16Host as H16, Field32Host as H32, Field64Host as H64, NaturalHost as HN,
};
use tessera_vmx::msr as m;
use x86_64::instructions::tables::{sgdt, sidt};
use x86_64::registers::control::{Cr0, Cr3, Cr4};
use x86_64::registers::model_specific::{FsBase, GsBase};

/// (field encoding, value) for every host-state field, HOST_RSP excepted (set at each entry).
pub(crate) fn host_state() -> [(u32, u64); 22] {
    let data = KERNEL_DATA_SELECTOR as u64;
    let (cr3_frame, cr3_flags) = Cr3::read_raw();
    [
        (H16::EsSelector.encoding(), data),
        (H16::CsSelector.encoding(), KERNEL_CODE_SELECTOR as u64),
        (H16::SsSelector.encoding(), data),
        (H16::DsSelector.encoding(), data),
        (H16::FsSelector.encoding(), 0),
        (H16::GsSelector.encoding(), 0),
        (H16::TrSelector.encoding(), TSS_SELECTOR as u64),
        (H64::Ia32Pat.encoding(), msr::read(m::IA32_PAT)),
        (H64::Ia32Efer.encoding(), msr::read(m::IA32_EFER)),
        (H32::Ia32SysenterCs.encoding(), 0),
        (HN::Cr0.encoding(), Cr0::read_raw()),
        (
            HN::Cr3.encoding(),
            cr3_frame.start_address().as_u64() | cr3_flags as u64,
        ),
        (HN::Cr4.encoding(), Cr4::read_raw()),
        (HN::FsBase.encoding(), FsBase::read().as_u64()),
        (HN::GsBase.encoding(), GsBase::read().as_u64()),
        (HN::TrBase.encoding(), crate::percpu::current_tss_addr()),
        (HN::GdtrBase.encoding(), sgdt().base.as_u64()),
        (HN::IdtrBase.encoding(), sidt().base.as_u64()),
        (HN::Ia32SysenterEsp.encoding(), 0),
        (HN::Ia32SysenterEip.encoding(), 0),
        (
            HN::Rip.encoding(),
            super::run::tessera_vmx_exit as *const () as u64,
        ),
        (HN::Rsp.encoding(), 0),
    ]
}
