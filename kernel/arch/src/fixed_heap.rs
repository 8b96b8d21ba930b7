//! The fixed boot heap: one static, page-aligned, zeroed region whose layout the build planned
//! (each structure at a known offset), and what is taken from it at those offsets: the typed page
//! handles of `vmx::regions` (VMXON and VMCS regions, virtual-APIC pages, MSR and I/O bitmaps, EPT
//! pages), posted-interrupt descriptors, PID-pointer table memory and host stacks. Nothing is
//! allocated.
//!
//! On the bare-metal target the region's type is only 16-byte aligned, so the static is its bytes
//! and the claim words, not rounded up to whole pages (a 4 KiB-aligned type would be, up to
//! 4,095 bytes more); `fixed_heap_region!` puts it in section `.bss.0_fixed_heap`, which
//! `linker.ld` places at a page boundary after every other `.bss` section, and every take checks
//! the alignment of its absolute address, so a region that did not land page-aligned is refused
//! at boot by the first page the kernel takes. Host builds keep the 4 KiB-aligned type. Claims
//! count granules from the region's start, so they do not depend on where it landed.
//!
//! Every byte is taken at most once: the region keeps one claim bit per 64-byte granule (the
//! size and alignment of a descriptor, the smallest structure), and a view that would share a
//! granule with one taken before is refused. So no page reaches the processor twice or as two
//! kinds, whatever offsets safe code passes; keeping the plan's structures apart is still the
//! planner's job (tested on the host against every property it promises), this only makes a
//! wrong offset an error instead of aliasing.

pub use crate::stack_probe::StackProbe;
use crate::vmx::{EptPages, IoBitmapRegions, Page, PageRegion, PidTableMemory, Token};
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// Bytes of a page.
const PAGE_BYTES: usize = 4096;

/// Bytes one claim bit stands for.
pub const CLAIM_GRANULE_BYTES: usize = 64;

/// Claim words (64 bits each) a region of `bytes` needs: the `W` of `HeapRegion<N, W>`.
pub const fn claim_words(bytes: usize) -> usize {
    bytes.div_ceil(CLAIM_GRANULE_BYTES * 64)
}

/// A zeroed region of `N` bytes with `W` claim words (`claim_words(N)`; declare it with
/// [`fixed_heap_region!`], which places it at a page boundary; host builds align the type itself
/// to 4 KiB).
#[cfg_attr(target_os = "none", repr(C, align(16)))]
#[cfg_attr(not(target_os = "none"), repr(C, align(4096)))]
pub struct HeapRegion<const N: usize, const W: usize> {
    bytes: UnsafeCell<[u8; N]>,
    /// Bit `g % 64` of word `g / 64`: granule `g` (bytes `64 g .. 64 g + 64`) is taken.
    claimed: [AtomicU64; W],
}

// SAFETY: the region is reached only through what `take*` hands out, each granule once
// (`claimed`); pages, descriptors and table words are interior-mutable (volatile or atomic access
// only), and a stack is its one owner's.
unsafe impl<const N: usize, const W: usize> Sync for HeapRegion<N, W> {}

impl<const N: usize, const W: usize> HeapRegion<N, W> {
    pub const fn new() -> Self {
        assert!(W >= claim_words(N), "too few claim words for the region");
        Self {
            bytes: UnsafeCell::new([0; N]),
            claimed: [const { AtomicU64::new(0) }; W],
        }
    }

    /// Takes `bytes` at `offset` for good and returns their address (memory is identity mapped,
    /// so also the physical address); `None` (and nothing taken) unless they are inside the
    /// region, their address is a multiple of `align` (the region's own page alignment is checked
    /// here, by every take) and no granule of theirs was taken before. `align` is a power of two.
    fn take_bytes(&self, offset: usize, bytes: usize, align: usize) -> Option<NonNull<u8>> {
        let end = offset
            .checked_add(bytes)
            .filter(|&end| bytes > 0 && end <= N)?;
        let address = (self.bytes.get() as usize).wrapping_add(offset);
        if address & (align - 1) != 0 {
            return None;
        }
        let granules = offset / CLAIM_GRANULE_BYTES..end.div_ceil(CLAIM_GRANULE_BYTES);
        let bit = |g: usize| (&self.claimed[g / 64], 1u64 << (g % 64));
        // Each granule's bit is set by one take only: a take that finds one set gives back the
        // bits it set (another take running at the same time may be refused too: never both
        // granted).
        for g in granules.clone() {
            let (word, mask) = bit(g);
            if word.fetch_or(mask, Ordering::AcqRel) & mask != 0 {
                for taken in granules.start..g {
                    let (word, mask) = bit(taken);
                    word.fetch_and(!mask, Ordering::AcqRel);
                }
                return None;
            }
        }
        // SAFETY: `offset + bytes <= N`, so the pointer stays inside the region (never null).
        Some(unsafe { NonNull::new_unchecked((self.bytes.get() as *mut u8).add(offset)) })
    }

    /// The page at `offset` (a multiple of 4096) as a handle of kind `K` (`vmx::VmxonRegion`,
    /// `VmcsRegion`, `VirtualApicRegion`, `MsrBitmapRegion`), once (`None` as for every take:
    /// outside the region, misaligned, or taken already).
    pub fn take<K: PageRegion>(&'static self, offset: usize) -> Option<K> {
        let at = self.take_bytes(offset, PAGE_BYTES, PAGE_BYTES)?;
        // SAFETY: 4096 bytes of the static region, 4 KiB-aligned (`take_bytes` checked the
        // address), taken only here; `Page` is a 4 KiB `UnsafeCell` array accessed only through
        // volatile words.
        Some(K::from_page(
            unsafe { at.cast::<Page>().as_ref() },
            Token::new(),
        ))
    }

    /// I/O bitmaps A and B, the two pages from `offset`, once.
    pub fn take_io_bitmaps(&'static self, offset: usize) -> Option<IoBitmapRegions> {
        let at = self.take_bytes(offset, 2 * PAGE_BYTES, PAGE_BYTES)?;
        // SAFETY: as for `take`, two pages.
        Some(IoBitmapRegions::new(unsafe {
            at.cast::<[Page; 2]>().as_ref()
        }))
    }

    /// `count` consecutive EPT pages from `offset`, once.
    pub fn take_ept_pages(&'static self, offset: usize, count: usize) -> Option<EptPages> {
        let bytes = count.saturating_mul(PAGE_BYTES);
        let at = self.take_bytes(offset, bytes, PAGE_BYTES)?;
        // SAFETY: as for `take`, `count` times, contiguous.
        Some(EptPages::new(unsafe {
            core::slice::from_raw_parts(at.as_ptr() as *const Page, count)
        }))
    }

    /// The posted-interrupt descriptor at `offset` (a multiple of 64; zero until set up, which
    /// is a valid empty descriptor), once: keep the reference, it may be shared.
    pub fn take_descriptor(
        &'static self,
        offset: usize,
    ) -> Option<&'static PostedInterruptDescriptor> {
        let bytes = core::mem::size_of::<PostedInterruptDescriptor>();
        let align = core::mem::align_of::<PostedInterruptDescriptor>();
        let at = self.take_bytes(offset, bytes, align)?;
        // SAFETY: 64 bytes of the static region, 64-byte aligned, taken only here; the
        // descriptor is made of atomics and plain reserved words, for which any bytes (zero
        // included) are valid.
        Some(unsafe { at.cast::<PostedInterruptDescriptor>().as_ref() })
    }

    /// The `count` 8-byte entries of a PID-pointer table at `offset` (4 KiB aligned; zero is an
    /// empty entry), once.
    pub fn take_pid_table(&'static self, offset: usize, count: usize) -> Option<PidTableMemory> {
        let at = self.take_bytes(offset, count.saturating_mul(8), PAGE_BYTES)?;
        // SAFETY: `count * 8` bytes of the static region, 4 KiB aligned, taken only here; any
        // bytes are a valid `AtomicU64`. Only `PidPointerTable::build` writes them.
        let entries =
            unsafe { core::slice::from_raw_parts(at.as_ptr() as *const AtomicU64, count) };
        Some(PidTableMemory::new(entries))
    }

    /// The stack of `bytes` at `offset` (16-byte aligned), filled with [`STACK_FILL`] so its depth
    /// can be measured, once.
    pub fn take_stack(&'static self, offset: usize, bytes: usize) -> Option<HostStack> {
        let at = self.take_bytes(offset, bytes, 16)?.as_ptr() as u64;
        // SAFETY: `bytes` bytes of the region from `at`, taken by this one stack only.
        unsafe { core::ptr::write_bytes(at as *mut u8, STACK_FILL, bytes) }
        Some(HostStack {
            top: (at + bytes as u64) & !15,
            probe: StackProbe::filled(at, bytes, STACK_FILL),
        })
    }

    /// Physical address of byte `offset` of the region (an address only: nothing is taken).
    pub fn phys_addr(&self, offset: usize) -> u64 {
        self.bytes.get() as u64 + offset as u64
    }

    /// Bytes of the region.
    pub const fn size_bytes(&self) -> usize {
        N
    }
}

impl<const N: usize, const W: usize> Default for HeapRegion<N, W> {
    fn default() -> Self {
        Self::new()
    }
}

/// Declares `static $name: HeapRegion<$bytes, { claim_words($bytes) }>` in section
/// `.bss.0_fixed_heap`, which the workspace's `linker.ld` places at a page boundary, last in
/// `.bss` (the leading `0` keeps it out of the pattern that places every other `.bss` section: no
/// symbol name starts with a digit).
#[macro_export]
macro_rules! fixed_heap_region {
    ($vis:vis static $name:ident: $bytes:expr) => {
        #[link_section = ".bss.0_fixed_heap"]
        $vis static $name: $crate::fixed_heap::HeapRegion<
            { $bytes },
            { $crate::fixed_heap::claim_words($bytes) },
        > = $crate::fixed_heap::HeapRegion::new();
    };
}

/// Byte a fresh host stack is filled with.
pub const STACK_FILL: u8 = 0xA5;

/// A stack owned by one CPU: its top, 16-byte aligned. Not `Copy`: used once.
#[derive(Debug)]
pub struct HostStack {
    top: u64,
    probe: StackProbe,
}

impl HostStack {
    pub fn top(&self) -> u64 {
        self.top
    }

    /// What measures this stack's depth once it is in use.
    pub fn probe(&self) -> StackProbe {
        self.probe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmx::{MsrBitmapRegion, VmcsRegion, VmxonRegion};

    const BYTES: usize = 4 * PAGE_BYTES;

    #[test]
    fn views_are_where_asked_and_refused_outside() {
        static REGION: HeapRegion<BYTES, { claim_words(BYTES) }> = HeapRegion::new();
        let base = REGION.phys_addr(0);
        let page: VmcsRegion = REGION.take(PAGE_BYTES).unwrap();
        assert_eq!(page.phys_addr(), base + 4096);
        assert!(REGION.take::<VmcsRegion>(100).is_none(), "misaligned page");
        assert!(REGION.take::<VmcsRegion>(BYTES).is_none(), "past the end");
        assert!(
            REGION.take_ept_pages(2 * PAGE_BYTES, 4).is_none(),
            "runs past the end"
        );
        assert!(REGION.take_ept_pages(2 * PAGE_BYTES, 0).is_none(), "empty");
        assert_eq!(REGION.take_ept_pages(2 * PAGE_BYTES, 2).unwrap().len(), 2);
        assert!(REGION.take_descriptor(32).is_none());
        let d = REGION.take_descriptor(64).unwrap() as *const _ as u64;
        assert_eq!(d, base + 64);
        assert!(
            REGION.take_pid_table(8, 3).is_none(),
            "a table wants its alignment"
        );
    }

    /// Every byte goes once, whatever kind asks for it: the same page as another kind, a
    /// descriptor inside a page taken, a stack over a table; a refused take leaves the rest free.
    #[test]
    fn every_granule_is_taken_once() {
        static REGION: HeapRegion<BYTES, { claim_words(BYTES) }> = HeapRegion::new();
        let vmxon: VmxonRegion = REGION.take(0).unwrap();
        assert!(REGION.take::<VmxonRegion>(0).is_none(), "once");
        assert!(
            REGION.take::<VmcsRegion>(0).is_none(),
            "nor as another kind"
        );
        assert!(REGION.take_descriptor(4032).is_none(), "nor in part");
        let table = REGION.take_pid_table(PAGE_BYTES, 6).unwrap();
        assert_eq!(table.len(), 6);
        assert!(
            REGION.take_descriptor(PAGE_BYTES).is_none(),
            "inside the table"
        );
        let pid = REGION.take_descriptor(PAGE_BYTES + 64).unwrap();
        assert!(
            REGION.take_descriptor(PAGE_BYTES + 64).is_none(),
            "a descriptor once"
        );
        assert_eq!(pid as *const _ as u64, vmxon.phys_addr() + 4096 + 64);
        assert!(REGION.take_stack(PAGE_BYTES, 3 * PAGE_BYTES).is_none());
        assert!(
            REGION.take::<VmcsRegion>(3 * PAGE_BYTES).is_some(),
            "given back"
        );
        assert!(
            REGION.take_io_bitmaps(2 * PAGE_BYTES).is_none(),
            "B is taken"
        );
        assert!(
            REGION.take::<MsrBitmapRegion>(2 * PAGE_BYTES).is_some(),
            "A given back"
        );
    }

    #[test]
    fn stacks_go_once() {
        static STACKS: HeapRegion<BYTES, { claim_words(BYTES) }> = HeapRegion::new();
        let first = STACKS.take_stack(PAGE_BYTES, PAGE_BYTES).unwrap();
        assert_eq!(first.top() % 16, 0);
        assert_eq!(first.probe().used_bytes(), 0);
        assert!(STACKS.take_stack(PAGE_BYTES, PAGE_BYTES).is_none(), "once");
        assert!(
            STACKS.take_stack(0, 2 * PAGE_BYTES).is_none(),
            "overlapping"
        );
        assert!(STACKS.take_stack(0, PAGE_BYTES).is_some(), "below is free");
        assert!(STACKS.take_stack(3 * PAGE_BYTES, PAGE_BYTES).is_some());
    }

    /// Claims across word boundaries: 64 granules per word, so a 4 KiB page is one word.
    #[test]
    fn claim_words_cover_the_region() {
        assert_eq!(claim_words(4096), 1);
        assert_eq!(claim_words(4097), 2);
        assert_eq!(claim_words(135_184), 34);
        static REGION: HeapRegion<BYTES, { claim_words(BYTES) }> = HeapRegion::new();
        let stack = REGION.take_stack(64 * 60, 64 * 10).unwrap();
        assert_eq!(stack.probe().used_bytes(), 0);
        assert!(REGION.take_descriptor(64 * 59).is_some(), "just below");
        assert!(REGION.take_descriptor(64 * 70).is_some(), "just above");
        assert!(
            REGION.take_descriptor(64 * 64).is_none(),
            "in the second word"
        );
        assert_eq!(REGION.claimed[0].load(Ordering::Relaxed), 0xF8 << 56);
        assert_eq!(REGION.claimed[1].load(Ordering::Relaxed), 0x7F);
    }
}
