//! Memory the processor reads and writes on its own: 4 KiB pages (VMXON region, VMCS, bitmaps, virtual
//! APIC), posted-interrupt descriptors and PID-pointer tables. All shared through atomics or volatile
//! accesses, so safe code may look at them while the processor updates them.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bytes of one page.
pub const PAGE_BYTES: usize = 4096;

/// A 4 KiB-aligned page the processor may access behind the compiler's back.
#[repr(C, align(4096))]
pub struct Page(UnsafeCell<[u8; PAGE_BYTES]>);

// SAFETY: every access goes through volatile reads and writes of whole aligned words; concurrent access
// by the processor or other CPUs cannot create Rust references into the page.
unsafe impl Sync for Page {}

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
    pub fn read_u32(&self, offset_bytes: usize) -> u32 {
        // SAFETY: `at` returns an aligned pointer inside this page; volatile because the CPU writes it.
        unsafe { core::ptr::read_volatile(self.at(offset_bytes)) }
    }

    /// Writes the u32 at `offset_bytes` (4-byte aligned).
    pub fn write_u32(&self, offset_bytes: usize, value: u32) {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::write_volatile(self.at(offset_bytes), value) }
    }

    /// Reads the u64 at `offset_bytes` (8-byte aligned), e.g. a page-table or EPT entry.
    pub fn read_u64(&self, offset_bytes: usize) -> u64 {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::read_volatile(self.at(offset_bytes)) }
    }

    /// Writes the u64 at `offset_bytes` (8-byte aligned).
    pub fn write_u64(&self, offset_bytes: usize, value: u64) {
        // SAFETY: as in `read_u32`.
        unsafe { core::ptr::write_volatile(self.at(offset_bytes), value) }
    }

    /// Copies `entries` to the start of the page (at most 512), e.g. a table built by tessera-vmx.
    pub fn write_u64s(&self, entries: &[u64]) {
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
    pub fn fill(&self, byte: u8) {
        let word = u64::from_ne_bytes([byte; 8]);
        (0..PAGE_BYTES / 8).for_each(|i| self.write_u64(i * 8, word));
    }

    /// Sets (`true`) or clears bit `bit` of the page seen as a 32768-bit bitmap (MSR/I/O bitmaps).
    pub fn set_bit(&self, bit: usize, value: bool) {
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

/// tessera-vmx's table builders (EPT, MSR and I/O bitmaps, virtual-APIC page) write straight into
/// processor-shared pages through this.
impl tessera_vmx::tables::PageWords for &Page {
    fn read_word(&self, index: usize) -> u64 {
        self.read_u64(index * 8)
    }

    fn write_word(&mut self, index: usize, value: u64) {
        self.write_u64(index * 8, value)
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
}

impl<const N: usize> Default for PagePool<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A posted-interrupt descriptor (SDM 30.6; ipiv.md section 2): PIR, ON, SN, NV, NDST.
#[repr(C, align(64))]
pub struct PostedInterruptDesc {
    pir: [AtomicU64; 4],
    control: AtomicU64,
    reserved: [AtomicU64; 3],
}

/// Bit of the control word (PID bits 319:256): outstanding notification.
pub const PID_ON: u64 = 1 << 0;
/// Bit of the control word: suppress notification.
pub const PID_SN: u64 = 1 << 1;

impl PostedInterruptDesc {
    /// An empty descriptor (put it in a `static`).
    pub const fn new() -> Self {
        Self {
            pir: [const { AtomicU64::new(0) }; 4],
            control: AtomicU64::new(0),
            reserved: [const { AtomicU64::new(0) }; 3],
        }
    }

    /// Physical address (64-byte aligned).
    pub fn phys_addr(&self) -> u64 {
        self as *const Self as u64
    }

    /// Sets NV (notification vector) and NDST (x2APIC host format: full 32-bit APIC ID); clears ON and SN.
    pub fn set_notification(&self, vector: u8, dest_apic_id: u32) {
        let word = (vector as u64) << 16 | (dest_apic_id as u64) << 32;
        self.control.store(word, Ordering::SeqCst);
    }

    /// Whether PIR bit `vector` is set.
    pub fn pir_bit(&self, vector: u8) -> bool {
        self.pir[vector as usize / 64].load(Ordering::SeqCst) & (1 << (vector % 64)) != 0
    }

    /// Clears every PIR bit.
    pub fn clear_pir(&self) {
        self.pir.iter().for_each(|w| w.store(0, Ordering::SeqCst));
    }

    /// The control word (ON bit 0, SN bit 1, NV bits 23:16, NDST bits 63:32).
    pub fn control(&self) -> u64 {
        self.control.load(Ordering::SeqCst)
    }

    /// Sets or clears the bits of `mask` (`PID_ON`, `PID_SN`) in the control word.
    pub fn set_flags(&self, mask: u64, on: bool) {
        let mask = mask & (PID_ON | PID_SN);
        if on {
            self.control.fetch_or(mask, Ordering::SeqCst);
        } else {
            self.control.fetch_and(!mask, Ordering::SeqCst);
        }
    }
}

impl Default for PostedInterruptDesc {
    fn default() -> Self {
        Self::new()
    }
}

/// Entries of one PID-pointer table page (virtual APIC IDs 0..=511).
pub const PID_TABLE_ENTRIES: usize = PAGE_BYTES / 8;
/// Valid bit of a PID-pointer table entry; bits 5:1 are reserved.
pub const PID_ENTRY_VALID: u64 = 1;

/// A one-page PID-pointer table (ipiv.md section 2). Valid entries can only point at real descriptors.
#[repr(C, align(4096))]
pub struct PidTable {
    entries: [AtomicU64; PID_TABLE_ENTRIES],
}

/// Why a raw PID-pointer table entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidTableError {
    IndexOutOfRange(usize),
    /// Bits 5:0 = 000001b would make the processor use the entry as a descriptor address.
    RawEntryWouldBeValid(u64),
}

impl PidTable {
    /// A table with every entry invalid (zero).
    pub const fn new() -> Self {
        Self {
            entries: [const { AtomicU64::new(0) }; PID_TABLE_ENTRIES],
        }
    }

    /// Physical address (4 KiB aligned).
    pub fn phys_addr(&self) -> u64 {
        self as *const Self as u64
    }

    /// Points entry `index` (a virtual APIC ID) at `pid`, valid.
    pub fn set(
        &self,
        index: usize,
        pid: &'static PostedInterruptDesc,
    ) -> Result<(), PidTableError> {
        let entry = self
            .entries
            .get(index)
            .ok_or(PidTableError::IndexOutOfRange(index))?;
        entry.store(pid.phys_addr() | PID_ENTRY_VALID, Ordering::SeqCst);
        Ok(())
    }

    /// Stores a raw value the processor must reject (invalid or reserved bits set), for tests.
    pub fn set_unusable(&self, index: usize, raw: u64) -> Result<(), PidTableError> {
        if raw & 0x3F == PID_ENTRY_VALID {
            return Err(PidTableError::RawEntryWouldBeValid(raw));
        }
        let entry = self
            .entries
            .get(index)
            .ok_or(PidTableError::IndexOutOfRange(index))?;
        entry.store(raw, Ordering::SeqCst);
        Ok(())
    }

    /// The raw entry at `index`.
    pub fn get(&self, index: usize) -> Option<u64> {
        self.entries.get(index).map(|e| e.load(Ordering::SeqCst))
    }
}

impl Default for PidTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_layout_matches_the_sdm() {
        assert_eq!(core::mem::size_of::<PostedInterruptDesc>(), 64);
        assert_eq!(core::mem::align_of::<PostedInterruptDesc>(), 64);
        let pid = PostedInterruptDesc::new();
        pid.set_notification(0xF2, 3);
        assert_eq!(pid.control(), 0x0000_0003_00F2_0000);
        pid.set_flags(PID_SN, true);
        assert_eq!(pid.control() & PID_SN, PID_SN);
        pid.set_flags(PID_SN | (1 << 16), false);
        assert_eq!(pid.control(), 0x0000_0003_00F2_0000);
    }

    #[test]
    fn pid_table_entries() {
        static PID: PostedInterruptDesc = PostedInterruptDesc::new();
        let table = PidTable::new();
        table.set(1, &PID).unwrap();
        assert_eq!(table.get(1), Some(PID.phys_addr() | 1));
        assert_eq!(
            table.set_unusable(2, 0x1001),
            Err(PidTableError::RawEntryWouldBeValid(0x1001))
        );
        assert_eq!(table.set_unusable(2, 0x1003), Ok(()));
        assert_eq!(
            table.set(512, &PID),
            Err(PidTableError::IndexOutOfRange(512))
        );
    }

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
        let mut words = b;
        tessera_vmx::tables::PageWords::write_word(&mut words, 3, 9);
        assert_eq!(b.read_u64(24), 9);
        b.write_u64s(&[1, 2]);
        assert_eq!(
            (b.read_u64(0), b.read_u64(8), b.read_u64(16)),
            (1, 2, u64::MAX)
        );
    }
}
