//! The host-state area of a VMCS, taken from the calling CPU (SDM 25.5 "Host-State Area").

use crate::gdt::{KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR, TSS_SELECTOR};
use crate::msr;
use x86_64::instructions::tables::{sgdt, sidt};
use x86_64::registers::control::{Cr0, Cr3, Cr4};

/// (field encoding, value) for every host-state field, HOST_RSP excepted (set at each entry).
pub(crate) fn host_state() -> [(u32, u64); 22] {
    let data = KERNEL_DATA_SELECTOR as u64;
    let (cr3_frame, cr3_flags) = Cr3::read_raw();
    [
        (0x0C00, data),
        (0x0C02, KERNEL_CODE_SELECTOR as u64),
        (0x0C04, data),
        (0x0C06, data),
        (0x0C08, 0),
        (0x0C0A, 0),
        (0x0C0C, TSS_SELECTOR as u64),
        (0x2C00, msr::read(0x277)),
        (0x2C02, msr::read(0xC000_0080)),
        (0x4C00, 0),
        (0x6C00, Cr0::read_raw()),
        (
            0x6C02,
            cr3_frame.start_address().as_u64() | cr3_flags as u64,
        ),
        (0x6C04, Cr4::read_raw()),
        (0x6C06, msr::read(0xC000_0100)),
        (0x6C08, msr::read(0xC000_0101)),
        (0x6C0A, crate::percpu::current_tss_addr()),
        (0x6C0C, sgdt().base.as_u64()),
        (0x6C0E, sidt().base.as_u64()),
        (0x6C10, 0),
        (0x6C12, 0),
        (0x6C16, super::run::tessera_vmx_exit as *const () as u64),
        (0x6C14, 0),
    ]
}
