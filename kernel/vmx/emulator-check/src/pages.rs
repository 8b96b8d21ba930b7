//! The image's pages: tessera-arch's processor-shared `Page`s, seen through tessera-vmx's
//! `PageWords` so the builders write into them directly.

use tessera_arch::vmx::{Page, PagePool};
use tessera_vmx::tables::PageWords;

/// A static page as 512 words (volatile accesses through `Page`).
pub struct Words(pub &'static Page);

impl PageWords for Words {
    fn read_word(&self, index: usize) -> u64 {
        self.0.read_u64(8 * index)
    }

    fn write_word(&mut self, index: usize, value: u64) {
        self.0.write_u64(8 * index, value)
    }
}

/// VMXON, VMCS, virtual-APIC page, MSR bitmap, two I/O bitmaps and up to 4 EPT pages.
static PAGES: PagePool<10> = PagePool::new();

/// A fresh page, or a failed check when the pool is empty.
pub fn take() -> &'static Page {
    PAGES
        .take()
        .unwrap_or_else(|| tessera_arch::fatal(format_args!("page pool exhausted")))
}
