//! Guard pages: pages of the image left out of the boot page tables, each right under a stack, so
//! that overflowing the stack faults (#PF, on its own interrupt stack) instead of writing whatever
//! lies below; the exception handler names the page (`fatal: CPU n: stack overflow (guard page
//! <hex>)`). The image's first 2 MiB are mapped by `IMAGE_PT` in 4 KiB pages for this.

#[cfg(target_os = "none")]
use crate::paging::image_pt_index;
use crate::paging::{identity_pt, PageTable, IMAGE_BASE, PAGE_BYTES};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Most guard pages at once (one under each stack of each CPU).
pub const MAX_GUARDS: usize = 64;

/// The page table of the image's first 2 MiB (the 32-bit entry points the first page directory at it).
#[repr(transparent)]
pub struct ImageTable(UnsafeCell<PageTable>);

// SAFETY: only `unmap` writes it, clearing whole entries with volatile stores (each page once: its
// `GUARDS` slot is claimed first); the MMU reads it concurrently and never sees a torn entry.
unsafe impl Sync for ImageTable {}

/// The image's first 2 MiB in 4 KiB pages, every page present until `unmap`.
pub static IMAGE_PT: ImageTable = ImageTable(UnsafeCell::new(identity_pt(IMAGE_BASE)));

static GUARDS: [AtomicU64; MAX_GUARDS] = [const { AtomicU64::new(0) }; MAX_GUARDS];

/// Why a page cannot become a guard page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardError {
    /// Not 4 KiB aligned.
    Unaligned(u64),
    /// Outside the image's first 2 MiB, the only part mapped in 4 KiB pages.
    NotIn4KiBMap(u64),
    /// `MAX_GUARDS` pages are guards already.
    TooMany,
}

impl core::fmt::Display for GuardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            GuardError::Unaligned(page) => write!(f, "page {page:#x} is not 4 KiB aligned"),
            GuardError::NotIn4KiBMap(page) => write!(
                f,
                "page {page:#x} lies outside the image's first 2 MiB (the only part mapped in 4 KiB pages)"
            ),
            GuardError::TooMany => write!(f, "{MAX_GUARDS} pages are guard pages already"),
        }
    }
}

#[cfg(target_os = "none")]
/// Takes `page` out of the page tables for good (every CPU shares them) and records it as a guard.
/// The caller promises nothing accesses the page through its linear address any more.
pub(crate) fn unmap(page: u64) -> Result<(), GuardError> {
    if !page.is_multiple_of(PAGE_BYTES) {
        return Err(GuardError::Unaligned(page));
    }
    let index = image_pt_index(page).ok_or(GuardError::NotIn4KiBMap(page))?;
    let recorded = GUARDS.iter().any(|g| {
        g.compare_exchange(0, page, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    });
    if !recorded {
        return Err(GuardError::TooMany);
    }
    let entry = IMAGE_PT.0.get() as *mut u64;
    // SAFETY: `index` < 512 lies inside the table; a whole-entry volatile store of 0 makes the page
    // not present (the MMU never sees a torn entry), then INVLPG drops this CPU's cached
    // translation. Other CPUs start later (their TLBs are empty) or, for pages unmapped after they
    // started, never touched the page (the caller's promise).
    unsafe {
        core::ptr::write_volatile(entry.add(index), 0);
        core::arch::asm!("invlpg [{}]", in(reg) page, options(nostack, preserves_flags));
    }
    Ok(())
}

/// The guard page `addr` lies in, if any.
pub fn containing(addr: u64) -> Option<u64> {
    let page = addr & !(PAGE_BYTES - 1);
    GUARDS
        .iter()
        .map(|g| g.load(Ordering::Acquire))
        .find(|&g| g != 0 && g == page)
}

/// Test-only: records `page` as a guard in slot `slot` (0 frees it) without touching the page
/// tables, so host tests of the fault path can put a guard where they need one.
#[cfg(test)]
pub(crate) fn record_for_test(slot: usize, page: u64) {
    GUARDS[slot].store(page, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recorded_pages_are_guards() {
        assert_eq!(containing(0x20_0000), None);
        GUARDS[MAX_GUARDS - 1].store(0x20_3000, Ordering::Release);
        assert_eq!(containing(0x20_3FF8), Some(0x20_3000));
        assert_eq!(containing(0x20_3000), Some(0x20_3000));
        assert_eq!(containing(0x20_4000), None);
        assert_eq!(containing(0x20_2FFF), None);
        GUARDS[MAX_GUARDS - 1].store(0, Ordering::Release);
    }
}
