//! The image's pages: tessera-arch's processor-shared `Page`s, written by tessera-vmx's builders
//! through the self-test hook `PageWrite::writer`.

use tessera_arch::vmx::test_hooks::PageWrite;
use tessera_arch::vmx::{Page, PagePool, PageRegion, PageWriter};

/// A static page as 512 words for tessera-vmx's builders.
pub fn words(page: &'static Page) -> PageWriter<'static> {
    page.writer()
}

/// VMXON, VMCS, virtual-APIC page, MSR bitmap, two I/O bitmaps and up to 4 EPT pages.
static PAGES: PagePool<10> = PagePool::new();

/// A fresh page, or a failed check when the pool is empty.
pub fn take() -> &'static Page {
    PAGES
        .take()
        .unwrap_or_else(|| tessera_arch::fatal(format_args!("page pool exhausted")))
}

/// A fresh page as a VMXON region, VMCS region, ..., or a failed check when the pool is empty.
pub fn region<K: PageRegion>() -> K {
    PAGES
        .take_region()
        .unwrap_or_else(|| tessera_arch::fatal(format_args!("page pool exhausted")))
}
