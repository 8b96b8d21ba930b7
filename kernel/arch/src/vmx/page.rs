//! 4 KiB pages the processor reads and writes on its own (VMXON region, VMCS, bitmaps, virtual APIC,
//! EPT tables), accessed only through volatile reads and writes, and a static pool handing them out
//! (the self-test images' source of pages; the hypervisor's come from `fixed_heap`).
//! Outside tessera-arch a `Page` can only be read: tables are written by the builders of
//! `super::tables`, which seal them, and the virtual-APIC page through `VirtualApicPage`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of one page.
pub const PAGE_BYTES: usize = 4096;

/// A 4 KiB-aligned page the processor may access behind the compiler's back.
#[repr(C, align(4096))]
pub struct Page(UnsafeCell<[u8; PAGE_BYTES]>);

// SAFETY: every access goes through volatile reads and writes of whole aligned words; concurrent access
// by the processor or other CPUs cannot create Rust references into the page.
unsafe impl Sync for Page {}

impl core::fmt::Debug for Page {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Page({:#x})", self.phys_addr())
    }
}

impl Page {
    /// A zeroed page.
    pub const fn zeroed() -> Self {
        Self(UnsafeCell::new([0; PAGE_BYTES]))
    }

    /// Physical address (memory is identity mapped).
    pub fn phys_addr(&self) -> u64 {
        self.0.get() as u64
    }

    fn at<T>(&self, offset_bytes: usize) -> *mut T {
        let size = core::mem::size_of::<T>();
        assert!(
            offset_bytes.is_multiple_of(size) && offset_bytes + size <= PAGE_BYTES,
            "bad page offset {offset_bytes:#x} for a {size}-byte access"
        );
        // SAFETY: the offset is inside the page and aligned for `T` (checked above).
        unsafe { (self.0.get() as *mut u8).add(offset_bytes) as *mut T }
    }

    /// Reads the u32 at `offset_bytes` (4-byte aligned).
    #[inline]
    pub fn read_u32(&self, offset_bytes: usize) -> u32 {
        // SAFETY: `at` returns an aligned pointer inside this page; volatile because the CPU writes it.
        unsafe { core::ptr::read_volatile(self.at(offset_bytes)) }
    }

    /// Writes the u32 at `offset_bytes` (4-byte aligned).
    pub(crate) fn write_u32(&self, offset_bytes: usize, value: u32) {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::write_volatile(self.at(offset_bytes), value) }
    }

    /// Reads the u64 at `offset_bytes` (8-byte aligned), e.g. a page-table or EPT entry.
    #[inline]
    pub fn read_u64(&self, offset_bytes: usize) -> u64 {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::read_volatile(self.at(offset_bytes)) }
    }

    /// Writes the u64 at `offset_bytes` (8-byte aligned).
    pub(crate) fn write_u64(&self, offset_bytes: usize, value: u64) {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::write_volatile(self.at(offset_bytes), value) }
    }

    /// Copies `entries` to the start of the page (at most 512), e.g. a table built by tessera-vmx.
    #[cfg(test)]
    pub(crate) fn write_u64s(&self, entries: &[u64]) {
        assert!(
            entries.len() <= PAGE_BYTES / 8,
            "{} entries do not fit a page",
            entries.len()
        );
        entries
            .iter()
            .enumerate()
            .for_each(|(i, &e)| self.write_u64(i * 8, e));
    }

    /// Sets every byte to `byte` (0xFF: an MSR or I/O bitmap that intercepts everything).
    #[cfg(test)]
    pub(crate) fn fill(&self, byte: u8) {
        let word = u64::from_ne_bytes([byte; 8]);
        (0..PAGE_BYTES / 8).for_each(|i| self.write_u64(i * 8, word));
    }

    /// Sets (`true`) or clears bit `bit` of the page seen as a 32768-bit bitmap (MSR/I/O bitmaps).
    #[cfg(test)]
    pub(crate) fn set_bit(&self, bit: usize, value: bool) {
        assert!(bit < PAGE_BYTES * 8, "bit {bit} beyond the page");
        let offset = bit / 32 * 4;
        let mask = 1u32 << (bit % 32);
        let old = self.read_u32(offset);
        self.write_u32(offset, if value { old | mask } else { old & !mask });
    }

    /// Whether bit `bit` of the page is set.
    pub fn bit(&self, bit: usize) -> bool {
        self.read_u32(bit / 32 * 4) & (1 << (bit % 32)) != 0
    }
}

/// Writes one page for tessera-vmx's table builders (EPT, MSR and I/O bitmaps, virtual-APIC page),
/// straight into the processor-shared page. Only tessera-arch makes one (its sealing builders, and
/// the self-test images through `test_hooks`), so safe code elsewhere cannot write a table.
pub struct PageWriter<'p>(&'p Page);

impl<'p> PageWriter<'p> {
    pub(crate) fn new(page: &'p Page) -> Self {
        Self(page)
    }
}

impl tessera_vmx::tables::PageWords for PageWriter<'_> {
    #[inline]
    fn read_word(&self, index: usize) -> u64 {
        self.0.read_u64(index * 8)
    }

    #[inline]
    fn write_word(&mut self, index: usize, value: u64) {
        self.0.write_u64(index * 8, value)
    }
}

/// A fixed set of pages handed out one by one, each at most once (no allocation after boot).
pub struct PagePool<const N: usize> {
    pages: [Page; N],
    next: AtomicUsize,
}

impl<const N: usize> PagePool<N> {
    /// A pool of `N` zeroed pages (put it in a `static`).
    pub const fn new() -> Self {
        Self {
            pages: [const { Page::zeroed() }; N],
            next: AtomicUsize::new(0),
        }
    }

    /// The next unused page, or `None` when all `N` are taken.
    pub fn take(&'static self) -> Option<&'static Page> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        self.pages.get(index)
    }

    /// The next unused page as a handle of kind `K` (`super::VmxonRegion`, `VmcsRegion`, ...):
    /// a page the pool hands out once, so no other handle or `&Page` reaches it.
    pub fn take_region<K: super::PageRegion>(&'static self) -> Option<K> {
        Some(K::from_page(self.take()?, super::Token::new()))
    }
}

impl<const N: usize> Default for PagePool<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_hands_out_each_page_once() {
        static POOL: PagePool<2> = PagePool::new();
        let a = POOL.take().unwrap();
        let b = POOL.take().unwrap();
        assert_ne!(a.phys_addr(), b.phys_addr());
        assert_eq!(a.phys_addr() % 4096, 0);
        assert!(POOL.take().is_none());
        a.write_u32(0x200, 7);
        assert_eq!(a.read_u32(0x200), 7);
        b.fill(0xFF);
        assert_eq!(b.read_u64(4088), u64::MAX);
        b.set_bit(0x830, false);
        assert!(!b.bit(0x830) && b.bit(0x831));
        assert_eq!(b.read_u32(0x830 / 32 * 4), !(1 << (0x830 % 32)));
        let mut words = PageWriter::new(b);
        tessera_vmx::tables::PageWords::write_word(&mut words, 3, 9);
        assert_eq!(b.read_u64(24), 9);
        b.write_u64s(&[1, 2]);
        assert_eq!(
            (b.read_u64(0), b.read_u64(8), b.read_u64(16)),
            (1, 2, u64::MAX)
        );
    }

    #[test]
    fn pool_hands_out_typed_regions_from_the_same_pages_once() {
        static POOL: PagePool<2> = PagePool::new();
        let vmcs: super::super::VmcsRegion = POOL.take_region().unwrap();
        let page = POOL.take().unwrap();
        assert_ne!(vmcs.phys_addr(), page.phys_addr());
        assert!(POOL.take_region::<super::super::VmxonRegion>().is_none());
    }
}
