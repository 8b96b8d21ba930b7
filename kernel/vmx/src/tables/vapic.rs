//! Initial contents of a vCPU's virtual-APIC page (SDM Vol. 3C 30.1; register offsets from Vol. 3A
//! Table 11-1). With APIC-register virtualization the guest reads these registers from this page, so
//! this is where it learns its virtual APIC ID.

use super::page::PageWords;

/// Bytes of the virtual-APIC page.
pub const VIRTUAL_APIC_PAGE_BYTES: usize = 4096;

/// x2APIC version register: version 0x14, six LVT entries (max LVT index 5 in bits 23:16).
pub const APIC_VERSION: u32 = 0x0005_0014;
/// Spurious-interrupt vector register after reset (APIC software-disabled, vector 0xFF).
pub const SVR_RESET: u32 = 0xFF;
/// LVT mask bit (16): LVT entries are masked after reset.
pub const LVT_MASKED: u32 = 1 << 16;

/// Offsets of the local APIC registers in the virtual-APIC page (SDM Vol. 3A Table 11-1; the x2APIC
/// MSR 800H + n is the register at offset n << 4): the one place these numbers are written.
pub mod offset {
    pub const ID: usize = 0x020;
    pub const VERSION: usize = 0x030;
    pub const LDR: usize = 0x0D0;
    /// Spurious-interrupt vector register.
    pub const SVR: usize = 0x0F0;
    /// Interrupt command register: 8 bytes under x2APIC virtualization.
    pub const ICR: usize = 0x300;
    pub const LVT_TIMER: usize = 0x320;
    /// LVT timer, CMCI... error: the six LVT entries, 16 bytes apart.
    pub const LVT: [usize; 6] = [LVT_TIMER, 0x330, 0x340, 0x350, 0x360, 0x370];
    pub const TIMER_INITIAL_COUNT: usize = 0x380;
    pub const TIMER_DIVIDE_CONFIGURATION: usize = 0x3E0;
}

/// Resets `page` to an x2APIC at reset with ID `apic_id` (every register is 16-byte aligned, so each
/// is the low half of one word).
pub fn init_virtual_apic_page(page: &mut impl PageWords, apic_id: u32) {
    page.fill_words(0);
    let mut set = |offset: usize, value: u32| page.write_word(offset / 8, u64::from(value));
    set(offset::ID, apic_id);
    set(offset::VERSION, APIC_VERSION);
    set(offset::LDR, crate::ipi::x2apic_logical_id(apic_id));
    set(offset::SVR, SVR_RESET);
    for offset in offset::LVT {
        set(offset, LVT_MASKED);
    }
}

/// The register at APIC-page `offset` (16-byte aligned) of `page`.
pub fn read_register(page: &impl PageWords, offset: u16) -> u32 {
    page.read_word(usize::from(offset) / 8) as u32
}

/// The 64-bit x2APIC ICR as virtualized: 8 bytes at offset 0x300 (SDM Vol. 3C 30.5: RDMSR of
/// 800H-8FFH reads 8 bytes at `(ECX & FFH) << 4`). Read it at an APIC-write exit for the ICR.
pub fn read_icr(page: &impl PageWords) -> u64 {
    page.read_word(offset::ICR / 8)
}

/// Stores an ICR value written through a WRMSR exit, so that the guest reads it back.
pub fn write_icr(page: &mut impl PageWords, icr: u64) {
    page.write_word(offset::ICR / 8, icr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn guest_reads_its_virtual_apic_id_and_logical_id() {
        let mut page = Box::new([0xFFu8; 4096]);
        init_virtual_apic_page(&mut *page, 0x13);
        assert_eq!(read_register(&*page, 0x20), 0x13);
        assert_eq!(read_register(&*page, 0xD0), 0x0001_0008);
        assert_eq!(read_register(&*page, 0x30), APIC_VERSION);
        assert_eq!(read_register(&*page, 0xF0), 0xFF);
        assert_eq!(read_register(&*page, 0x350), LVT_MASKED);
        assert_eq!(read_register(&*page, 0x300), 0, "ICR starts clear");
        assert_eq!(read_register(&*page, 0x80), 0, "TPR starts at 0");
    }

    #[test]
    fn icr_is_eight_bytes_at_0x300() {
        let mut page = Box::new([0u8; 4096]);
        write_icr(&mut *page, 0x0000_0007_0000_40F1);
        assert_eq!(&page[0x300..0x308], &[0xF1, 0x40, 0, 0, 7, 0, 0, 0]);
        assert_eq!(read_icr(&*page), 0x0000_0007_0000_40F1);
    }
}
