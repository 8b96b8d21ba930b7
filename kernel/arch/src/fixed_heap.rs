//! The fixed boot heap: one static, page-aligned, zeroed region whose layout the build planned
//! (each structure at a known offset), and typed views of it at those offsets: pages,
//! posted-interrupt descriptors, PID-pointer table words and host stacks. Nothing is allocated.
//!
//! On the bare-metal target the region's type is only 16-byte aligned, so the static is its bytes
//! and the stack floor, not rounded up to whole pages (a 4 KiB-aligned type would be, up to
//! 4,095 bytes more); `fixed_heap_region!` puts it in section `.bss.0_fixed_heap`, which
//! `linker.ld` places at a page boundary after every other `.bss` section, and every view checks
//! the alignment of its absolute address, so a region that did not land page-aligned is refused
//! at boot by the first page the kernel asks for. Host builds keep the 4 KiB-aligned type.
//!
//! Every view but a stack is of interior-mutable memory (`Page` is accessed only by volatile
//! word reads and writes, descriptors and table words are atomics), as the processor writes it
//! behind the compiler's back anyway; so handing the same view twice cannot break Rust's rules. A
//! stack is different (the CPU running on it writes it as plain memory): each is handed out once,
//! in rising order, never overlapping an earlier one. Keeping the structures apart is the
//! planner's job (tested on the host against every property it promises).

pub use crate::stack_probe::StackProbe;
use crate::vmx::{Page, PidTableMemory};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// Bytes of a page.
const PAGE_BYTES: usize = 4096;

/// A zeroed region of `N` bytes (declare it with [`fixed_heap_region!`], which places it at a
/// page boundary; host builds align the type itself to 4 KiB).
#[cfg_attr(target_os = "none", repr(C, align(16)))]
#[cfg_attr(not(target_os = "none"), repr(C, align(4096)))]
pub struct HeapRegion<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
    /// Offsets below this are no longer available to `take_stack` (the end of the last stack
    /// handed out).
    stack_floor: AtomicUsize,
}

// SAFETY: the region is reached only through the views below: pages, descriptors and words are
// interior-mutable (volatile or atomic access only), and each stack goes to one owner once
// (`stack_floor`).
unsafe impl<const N: usize> Sync for HeapRegion<N> {}

/// A view that does not fit the region: `bytes` at `offset` with alignment `align`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misplaced {
    pub what: &'static str,
    pub offset: usize,
    pub bytes: usize,
    pub align: usize,
}

impl<const N: usize> HeapRegion<N> {
    pub const fn new() -> Self {
        Self {
            bytes: UnsafeCell::new([0; N]),
            stack_floor: AtomicUsize::new(0),
        }
    }

    /// Address of byte `offset` (memory is identity mapped, so also the physical address), once
    /// `bytes` at `offset` are inside the region and that address is a multiple of `align` (the
    /// region's own page alignment is checked here, by every view).
    fn at(
        &self,
        what: &'static str,
        offset: usize,
        bytes: usize,
        align: usize,
    ) -> Result<*mut u8, Misplaced> {
        let misplaced = Misplaced {
            what,
            offset,
            bytes,
            align,
        };
        let inside = offset.checked_add(bytes).is_some_and(|end| end <= N);
        let address = (self.bytes.get() as usize).wrapping_add(offset);
        if !inside || !address.is_multiple_of(align) {
            return Err(misplaced);
        }
        // SAFETY: `offset + bytes <= N`, so the pointer stays inside the region.
        Ok(unsafe { (self.bytes.get() as *mut u8).add(offset) })
    }

    /// The page at `offset` (a multiple of 4096).
    pub fn page(&'static self, offset: usize) -> Result<&'static Page, Misplaced> {
        let at = self.at("page", offset, PAGE_BYTES, PAGE_BYTES)?;
        // SAFETY: 4096 bytes of the static region, 4 KiB-aligned (the region is, and `offset`
        // is); `Page` is a 4 KiB `UnsafeCell` array accessed only through volatile words.
        Ok(unsafe { &*(at as *const Page) })
    }

    /// `count` consecutive pages from `offset`.
    pub fn pages(&'static self, offset: usize, count: usize) -> Result<&'static [Page], Misplaced> {
        let bytes = count.saturating_mul(PAGE_BYTES);
        let at = self.at("pages", offset, bytes, PAGE_BYTES)?;
        // SAFETY: as for `page`, `count` times, contiguous.
        Ok(unsafe { core::slice::from_raw_parts(at as *const Page, count) })
    }

    /// The posted-interrupt descriptor at `offset` (a multiple of 64; zero until set up, which
    /// is a valid empty descriptor).
    pub fn descriptor(
        &'static self,
        offset: usize,
    ) -> Result<&'static PostedInterruptDescriptor, Misplaced> {
        let bytes = core::mem::size_of::<PostedInterruptDescriptor>();
        let align = core::mem::align_of::<PostedInterruptDescriptor>();
        let at = self.at("posted-interrupt descriptor", offset, bytes, align)?;
        // SAFETY: 64 bytes of the static region, 64-byte aligned; the descriptor is made of
        // atomics and plain reserved words, for which any bytes (zero included) are valid.
        Ok(unsafe { &*(at as *const PostedInterruptDescriptor) })
    }

    /// `count` 8-byte table words from `offset` (a PID-pointer table; zero is an empty entry).
    pub fn words(
        &'static self,
        offset: usize,
        count: usize,
        align: usize,
    ) -> Result<PidTableMemory, Misplaced> {
        let at = self.at("table words", offset, count.saturating_mul(8), align.max(8))?;
        // SAFETY: `count * 8` bytes of the static region, at least 8-byte aligned; any bytes are
        // a valid `AtomicU64`. Only `PidPointerTable::build` writes them.
        let entries = unsafe { core::slice::from_raw_parts(at as *const AtomicU64, count) };
        Ok(PidTableMemory::new(entries))
    }

    /// The stack of `bytes` at `offset` (16-byte aligned), filled with [`STACK_FILL`] so its depth
    /// can be measured. Stacks are handed out once each, in rising order: `None` for one that
    /// starts below the end of the last stack handed out.
    pub fn take_stack(&'static self, offset: usize, bytes: usize) -> Option<HostStack> {
        let at = self.at("stack", offset, bytes, 16).ok()? as u64;
        let end = offset + bytes;
        self.stack_floor
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |floor| {
                (offset >= floor).then_some(end)
            })
            .ok()?;
        // SAFETY: `bytes` bytes of the region from `at`, handed out to this one stack only (the
        // floor now excludes them from every later `take_stack`).
        unsafe { core::ptr::write_bytes(at as *mut u8, STACK_FILL, bytes) }
        Some(HostStack {
            top: (at + bytes as u64) & !15,
            probe: StackProbe::filled(at, bytes, STACK_FILL),
        })
    }

    /// Bytes of the region.
    pub const fn size_bytes(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for HeapRegion<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Declares `static $name: HeapRegion<$bytes>` in section `.bss.0_fixed_heap`, which the
/// workspace's `linker.ld` places at a page boundary, last in `.bss` (the leading `0` keeps it out
/// of the pattern that places every other `.bss` section: no symbol name starts with a digit).
#[macro_export]
macro_rules! fixed_heap_region {
    ($vis:vis static $name:ident: $bytes:expr) => {
        #[link_section = ".bss.0_fixed_heap"]
        $vis static $name: $crate::fixed_heap::HeapRegion<{ $bytes }> =
            $crate::fixed_heap::HeapRegion::new();
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

    static REGION: HeapRegion<{ 4 * PAGE_BYTES }> = HeapRegion::new();

    #[test]
    fn views_are_where_asked_and_refused_outside() {
        let base = REGION.bytes.get() as u64;
        assert_eq!(REGION.page(PAGE_BYTES).unwrap().phys_addr(), base + 4096);
        assert!(REGION.page(100).is_err(), "misaligned page");
        assert!(REGION.page(4 * PAGE_BYTES).is_err(), "past the end");
        assert!(REGION.pages(PAGE_BYTES, 4).is_err(), "runs past the end");
        assert_eq!(REGION.pages(0, 4).unwrap().len(), 4);
        assert!(REGION.descriptor(32).is_err());
        let d = REGION.descriptor(64).unwrap() as *const _ as u64;
        assert_eq!(d, base + 64);
        assert!(
            REGION.words(8, 3, 4096).is_err(),
            "a table wants its alignment"
        );
        assert_eq!(REGION.words(0, 3, 4096).unwrap().len(), 3);
    }

    #[test]
    fn stacks_go_once_in_rising_order() {
        static STACKS: HeapRegion<{ 4 * PAGE_BYTES }> = HeapRegion::new();
        let first = STACKS.take_stack(PAGE_BYTES, PAGE_BYTES).unwrap();
        assert_eq!(first.top() % 16, 0);
        assert_eq!(first.probe().used_bytes(), 0);
        assert!(STACKS.take_stack(PAGE_BYTES, PAGE_BYTES).is_none(), "once");
        assert!(STACKS.take_stack(0, PAGE_BYTES).is_none(), "below the last");
        assert!(STACKS.take_stack(3 * PAGE_BYTES, PAGE_BYTES).is_some());
    }
}
