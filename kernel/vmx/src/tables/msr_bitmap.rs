//! The 4 KiB MSR bitmap (SDM Vol. 3C 25.6.9): read bitmaps for MSRs 0..0x1FFF and
//! 0xC000_0000..0xC000_1FFF at bytes 0 and 1024, write bitmaps at 2048 and 3072; a set bit makes the
//! access exit, and MSRs outside both ranges always exit. Tessera starts from "everything exits".

use super::page::{clear_page_bit, page_bit, set_page_bit, PageWords};

/// Bytes of an MSR bitmap.
pub const MSR_BITMAP_BYTES: usize = 4096;

const LOW_FIRST: u32 = 0x0000_0000;
const HIGH_FIRST: u32 = 0xC000_0000;
const RANGE_MSRS: u32 = 0x2000;
const WRITE_OFFSET_BYTES: usize = 2048;
const HIGH_OFFSET_BYTES: usize = 1024;

/// Which accesses an MSR rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrAccess {
    Read,
    Write,
    ReadWrite,
}

/// The MSR lies outside the two ranges the bitmap covers, so every access to it exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrOutsideBitmap {
    pub msr: u32,
}

/// Offsets (on the APIC page) of the x2APIC registers a guest may read without exiting when
/// "APIC-register virtualization" is on: ID, version, TPR, PPR, LDR, SVR, ISR, TMR, IRR, ESR, ICR,
/// the six LVTs, initial count, divide configuration. The current count (0x390) keeps exiting.
const X2APIC_READABLE_OFFSETS: [u16; 16] = [
    0x020, 0x030, 0x080, 0x0A0, 0x0D0, 0x0F0, 0x280, 0x300, 0x320, 0x330, 0x340, 0x350, 0x360,
    0x370, 0x380, 0x3E0,
];

/// A bitmap being filled in a caller-provided page.
pub struct MsrBitmap<P: PageWords> {
    page: P,
}

impl<P: PageWords> MsrBitmap<P> {
    /// Sets every bit: each RDMSR and WRMSR exits until allowed.
    pub fn deny_all(mut page: P) -> Self {
        page.fill_words(u64::MAX);
        MsrBitmap { page }
    }

    /// A bitmap already filled (the vCPU's, while it runs): only the bits named later change.
    pub fn over(page: P) -> Self {
        MsrBitmap { page }
    }

    /// Makes `access` to `msr` exit again.
    pub fn deny(&mut self, msr: u32, access: MsrAccess) -> Result<(), MsrOutsideBitmap> {
        for &write in writes(access) {
            let (byte, bit) = position(msr, write).ok_or(MsrOutsideBitmap { msr })?;
            set_page_bit(&mut self.page, 8 * byte + bit as usize);
        }
        Ok(())
    }

    /// IA32_TSC_DEADLINE (6E0H) reads and writes exit (`passed` false: the trapped timer) or reach
    /// APIC-timer virtualization without exiting (`passed` true).
    pub fn pass_tsc_deadline(&mut self, passed: bool) {
        let msr = crate::msr::IA32_TSC_DEADLINE;
        let result = match passed {
            true => self.allow(msr, MsrAccess::ReadWrite),
            false => self.deny(msr, MsrAccess::ReadWrite),
        };
        debug_assert!(result.is_ok(), "MSR 0x6E0 is in the low range");
    }

    /// Lets `access` to `msr` run without exiting.
    pub fn allow(&mut self, msr: u32, access: MsrAccess) -> Result<(), MsrOutsideBitmap> {
        for &write in writes(access) {
            let (byte, bit) = position(msr, write).ok_or(MsrOutsideBitmap { msr })?;
            clear_page_bit(&mut self.page, 8 * byte + bit as usize);
        }
        Ok(())
    }

    /// The x2APIC policy for "virtualize x2APIC mode" with APIC-register virtualization and
    /// virtual-interrupt delivery: reads of the readable registers, writes of TPR, EOI and SELF IPI,
    /// and ICR writes only with IPIv (without it a passed-through ICR write would reach the real APIC).
    pub fn allow_x2apic(&mut self, ipiv: bool) {
        for offset in X2APIC_READABLE_OFFSETS.into_iter().chain(isr_tmr_irr()) {
            self.allow_x2apic_msr(offset, MsrAccess::Read);
        }
        for offset in [0x080, 0x0B0, 0x3F0] {
            self.allow_x2apic_msr(offset, MsrAccess::Write);
        }
        if ipiv {
            self.allow_x2apic_msr(0x300, MsrAccess::Write);
        }
    }

    fn allow_x2apic_msr(&mut self, offset: u16, access: MsrAccess) {
        let msr = crate::msr::X2APIC_MSR_FIRST + u32::from(offset >> 4);
        let in_low_range = self.allow(msr, access);
        debug_assert!(
            in_low_range.is_ok(),
            "x2APIC MSRs 0x800-0x8FF are in the low range"
        );
    }
}

/// Offsets of the eight ISR, TMR and IRR registers (0x100-0x270, 16 bytes apart).
fn isr_tmr_irr() -> impl Iterator<Item = u16> {
    (0x100..0x280).step_by(0x10)
}

fn writes(access: MsrAccess) -> &'static [bool] {
    match access {
        MsrAccess::Read => &[false],
        MsrAccess::Write => &[true],
        MsrAccess::ReadWrite => &[false, true],
    }
}

/// Byte and bit of `msr`'s read or write bit, `None` outside the two covered ranges.
fn position(msr: u32, write: bool) -> Option<(usize, u32)> {
    let (base_bytes, index) = match msr {
        m if m.wrapping_sub(LOW_FIRST) < RANGE_MSRS => (0, m - LOW_FIRST),
        m if m.wrapping_sub(HIGH_FIRST) < RANGE_MSRS => (HIGH_OFFSET_BYTES, m - HIGH_FIRST),
        _ => return None,
    };
    let write_bytes = if write { WRITE_OFFSET_BYTES } else { 0 };
    Some((write_bytes + base_bytes + (index / 8) as usize, index % 8))
}

/// Whether an access to `msr` exits under `page` (MSRs outside the bitmap always exit).
pub fn msr_access_exits(page: &impl PageWords, msr: u32, write: bool) -> bool {
    match position(msr, write) {
        Some((byte, bit)) => page_bit(page, 8 * byte + bit as usize),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn page() -> Box<[u8; MSR_BITMAP_BYTES]> {
        Box::new([0; MSR_BITMAP_BYTES])
    }

    #[test]
    fn everything_exits_by_default() {
        let mut p = page();
        MsrBitmap::deny_all(&mut *p);
        for msr in [0x10, 0x1B, 0x830, 0xC000_0080, 0xC000_0100, 0x4000_0000] {
            assert!(
                msr_access_exits(&*p, msr, false) && msr_access_exits(&*p, msr, true),
                "{msr:#x}"
            );
        }
    }

    #[test]
    fn allowing_a_read_leaves_the_write_exiting() {
        let mut p = page();
        let mut bitmap = MsrBitmap::deny_all(&mut *p);
        bitmap.allow(0xC000_0100, MsrAccess::Read).unwrap();
        bitmap.allow(0x277, MsrAccess::ReadWrite).unwrap();
        assert!(!msr_access_exits(&*p, 0xC000_0100, false));
        assert!(msr_access_exits(&*p, 0xC000_0100, true));
        assert!(msr_access_exits(&*p, 0xC000_0101, false));
        assert!(!msr_access_exits(&*p, 0x277, false) && !msr_access_exits(&*p, 0x277, true));
        assert_eq!(
            p[1024 + 0x100 / 8],
            0xFE,
            "high read bitmap starts at byte 1024"
        );
    }

    #[test]
    fn msrs_outside_the_ranges_cannot_be_allowed() {
        let mut p = page();
        let error = MsrBitmap::deny_all(&mut *p).allow(0x4000_0000, MsrAccess::Read);
        assert_eq!(error, Err(MsrOutsideBitmap { msr: 0x4000_0000 }));
    }

    #[test]
    fn x2apic_policy_without_ipiv_traps_icr_writes() {
        let mut p = page();
        MsrBitmap::deny_all(&mut *p).allow_x2apic(false);
        assert!(!msr_access_exits(&*p, 0x802, false), "ID read");
        assert!(!msr_access_exits(&*p, 0x830, false), "ICR read");
        assert!(
            msr_access_exits(&*p, 0x830, true),
            "ICR write must exit without IPIv"
        );
        assert!(
            !msr_access_exits(&*p, 0x80B, true) && !msr_access_exits(&*p, 0x83F, true),
            "EOI, SELF IPI"
        );
        assert!(
            !msr_access_exits(&*p, 0x808, true) && !msr_access_exits(&*p, 0x808, false),
            "TPR"
        );
        assert!(
            !msr_access_exits(&*p, 0x817, false) && !msr_access_exits(&*p, 0x810, false),
            "ISR"
        );
        assert!(msr_access_exits(&*p, 0x839, false), "current count");
        assert!(msr_access_exits(&*p, 0x838, true), "timer writes");
        assert!(msr_access_exits(&*p, 0x802, true), "ID write");
        assert!(msr_access_exits(&*p, 0x1B, true), "APIC base");
    }

    #[test]
    fn the_tsc_deadline_msr_is_passed_and_trapped_again() {
        let mut p = page();
        MsrBitmap::deny_all(&mut *p).allow_x2apic(true);
        let deadline = 0x6E0;
        assert!(msr_access_exits(&*p, deadline, false) && msr_access_exits(&*p, deadline, true));
        MsrBitmap::over(&mut *p).pass_tsc_deadline(true);
        assert!(!msr_access_exits(&*p, deadline, false) && !msr_access_exits(&*p, deadline, true));
        assert!(msr_access_exits(&*p, 0x6E1, true) && msr_access_exits(&*p, 0x6DF, false));
        assert!(
            !msr_access_exits(&*p, 0x830, true),
            "the rest of the bitmap is kept"
        );
        MsrBitmap::over(&mut *p).pass_tsc_deadline(false);
        assert!(msr_access_exits(&*p, deadline, false) && msr_access_exits(&*p, deadline, true));
        assert!(!msr_access_exits(&*p, 0x830, true));
        assert_eq!(
            p[2048 + 0x6E0 / 8],
            0xFF,
            "write bit back in the low write bitmap"
        );
    }

    #[test]
    fn x2apic_policy_with_ipiv_passes_icr_writes() {
        let mut p = page();
        MsrBitmap::deny_all(&mut *p).allow_x2apic(true);
        assert!(!msr_access_exits(&*p, 0x830, true));
        assert!(msr_access_exits(&*p, 0x831, true));
    }
}
