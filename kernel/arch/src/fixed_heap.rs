//! The fixed boot heap: one static, page-aligned region handed to `linked_list_allocator` once, and
//! typed views (pages, posted-interrupt descriptors, PID-pointer tables, stacks) of the blocks it
//! hands out. Nothing is ever freed, so every block is exclusively owned for good.

pub use crate::stack_probe::StackProbe;
use crate::vmx::Page;
use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use linked_list_allocator::Heap;
use tessera_vmx::tables::PostedInterruptDescriptor;

/// A zeroed, 4 KiB-aligned region of `N` bytes for the heap (put it in a `static`: it lands in .bss).
#[repr(C, align(4096))]
pub struct HeapRegion<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
    taken: AtomicBool,
}

// SAFETY: the bytes are reached only through the one `FixedHeap` that `take` hands out (guarded by
// `taken`), and from there only through disjoint blocks.
unsafe impl<const N: usize> Sync for HeapRegion<N> {}

impl<const N: usize> HeapRegion<N> {
    pub const fn new() -> Self {
        Self {
            bytes: UnsafeCell::new([0; N]),
            taken: AtomicBool::new(false),
        }
    }

    /// The heap over this region; `None` after the first call.
    pub fn take(&'static self) -> Option<FixedHeap> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let start = self.bytes.get() as *mut MaybeUninit<u8>;
        // SAFETY: `taken` makes this the only reference ever made to the region; `MaybeUninit<u8>`
        // has the layout of `u8` and accepts any content.
        let memory = unsafe { core::slice::from_raw_parts_mut(start, N) };
        Some(FixedHeap {
            heap: Heap::from_slice(memory),
        })
    }
}

impl<const N: usize> Default for HeapRegion<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The allocator over a taken region. It has no `free`: blocks live for good.
pub struct FixedHeap {
    heap: Heap,
}

/// A request the heap cannot satisfy (`bytes` with alignment `align`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapFull {
    pub bytes: usize,
    pub align: usize,
}

/// A block used as the wrong kind of structure (its size or alignment does not fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongBlock {
    pub what: &'static str,
    pub bytes: usize,
    pub addr: u64,
}

impl FixedHeap {
    /// First-fit allocation of `bytes` (at least 1) aligned to `align`, as the planner's replay does.
    pub fn alloc(&mut self, bytes: usize, align: usize) -> Result<Block, HeapFull> {
        let full = HeapFull { bytes, align };
        let layout = Layout::from_size_align(bytes.max(1), align).map_err(|_| full)?;
        let ptr = self.heap.allocate_first_fit(layout).map_err(|_| full)?;
        Ok(Block {
            addr: ptr.as_ptr() as u64,
            bytes,
        })
    }

    /// Bytes handed out so far (including the allocator's rounding).
    pub fn used_bytes(&self) -> usize {
        self.heap.used()
    }

    /// Size of the region.
    pub fn size_bytes(&self) -> usize {
        self.heap.size()
    }
}

/// One block of the heap, owned exclusively; turned into exactly one typed structure.
#[derive(Debug)]
pub struct Block {
    addr: u64,
    bytes: usize,
}

impl Block {
    /// Address (memory is identity mapped, so also the physical address).
    pub fn addr(&self) -> u64 {
        self.addr
    }

    fn check(&self, what: &'static str, min_bytes: usize, align: u64) -> Result<(), WrongBlock> {
        if self.bytes < min_bytes || !self.addr.is_multiple_of(align) {
            return Err(WrongBlock {
                what,
                bytes: self.bytes,
                addr: self.addr,
            });
        }
        Ok(())
    }

    fn zero(&self) {
        // SAFETY: the block is `bytes` bytes of the heap region owned by `self` alone.
        unsafe { core::ptr::write_bytes(self.addr as *mut u8, 0, self.bytes) }
    }

    /// A zeroed 4 KiB page (VMXON region, VMCS, bitmaps, virtual-APIC page, EPT page).
    pub fn into_page(self) -> Result<&'static Page, WrongBlock> {
        self.check("page", 4096, 4096)?;
        self.zero();
        // SAFETY: 4096 owned, zeroed, 4 KiB-aligned bytes; `Page` is a 4 KiB `UnsafeCell` array.
        Ok(unsafe { &*(self.addr as *const Page) })
    }

    /// A posted-interrupt descriptor notifying `ndst` (host APIC format) with vector `nv`.
    pub fn into_pid(
        self,
        nv: u8,
        ndst: u32,
    ) -> Result<&'static PostedInterruptDescriptor, WrongBlock> {
        self.check("posted-interrupt descriptor", 64, 64)?;
        let ptr = self.addr as *mut PostedInterruptDescriptor;
        // SAFETY: 64 owned bytes, 64-byte aligned (the descriptor's size and alignment); written
        // before the shared reference is made; the descriptor is all atomics.
        unsafe {
            ptr.write(PostedInterruptDescriptor::new(nv, ndst));
            Ok(&*ptr)
        }
    }

    /// A zeroed table of 8-byte entries (a PID-pointer table of `bytes / 8` entries).
    pub fn into_words(self) -> Result<&'static [AtomicU64], WrongBlock> {
        self.check("table of 8-byte words", 8, 8)?;
        self.zero();
        // SAFETY: owned, zeroed, 8-byte aligned bytes; a zero `AtomicU64` is valid.
        Ok(unsafe { core::slice::from_raw_parts(self.addr as *const AtomicU64, self.bytes / 8) })
    }

    /// A stack for one CPU (see `stack::run_on`), filled with `STACK_FILL` so its depth can be
    /// measured (`StackProbe`).
    pub fn into_stack(self) -> Result<HostStack, WrongBlock> {
        self.check("stack", 4096, 16)?;
        // SAFETY: the block is `bytes` bytes of the heap region owned by `self` alone.
        unsafe { core::ptr::write_bytes(self.addr as *mut u8, STACK_FILL, self.bytes) }
        Ok(HostStack {
            top: (self.addr + self.bytes as u64) & !15,
            probe: StackProbe::filled(self.addr, self.bytes, STACK_FILL),
        })
    }
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
