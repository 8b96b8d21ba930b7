//! Typed, owned handles to the pages the processor uses on its own: a VMXON region, a VMCS
//! region, a virtual-APIC page, an MSR bitmap, an I/O bitmap pair, a partition's EPT pages. Only
//! tessera-arch makes them, from the planned heap (`fixed_heap::HeapRegion::take`, each byte once)
//! or from a static pool (`PagePool::take_region`, each page once); none is `Copy` or `Clone` and
//! none converts into another, so safe code can neither hand one page to the processor twice nor
//! give it a page of one kind where another is due: `vmx::enable` takes a [`VmxonRegion`],
//! `Vmcs::new` a [`VmcsRegion`], each table builder its own kind. A table's address is read only
//! from what its builder returns (sealed), never from the handle of its unbuilt pages.
//!
//! A VMCS region is not a VMXON region:
//! ```compile_fail,E0308
//! fn misuse(region: tessera_arch::vmx::VmcsRegion) {
//!     let _ = tessera_arch::vmx::enable(region);
//! }
//! ```
//! while the VMXON region itself is accepted (the same code with the right kind compiles):
//! ```no_run
//! fn right(region: tessera_arch::vmx::VmxonRegion) {
//!     let _ = tessera_arch::vmx::enable(region);
//! }
//! ```
//! A handle cannot be copied or cloned:
//! ```compile_fail,E0599
//! fn twice(region: tessera_arch::vmx::VmcsRegion) {
//!     let copy = region.clone();
//!     let _ = tessera_arch::vmx::Vmcs::new(region, 1);
//!     let _ = tessera_arch::vmx::Vmcs::new(copy, 1);
//! }
//! ```
//! nor used twice:
//! ```compile_fail,E0382
//! fn twice(region: tessera_arch::vmx::VmcsRegion) {
//!     let _ = tessera_arch::vmx::Vmcs::new(region, 1);
//!     let _ = tessera_arch::vmx::Vmcs::new(region, 1);
//! }
//! ```
//! nor turned into another kind:
//! ```compile_fail,E0277
//! fn convert(region: tessera_arch::vmx::VmcsRegion) -> tessera_arch::vmx::VmxonRegion {
//!     region.into()
//! }
//! ```
//! nor made outside tessera-arch from a page, directly or through [`PageRegion`]:
//! ```compile_fail,E0451
//! fn forge(page: &'static tessera_arch::vmx::Page) -> tessera_arch::vmx::VmcsRegion {
//!     tessera_arch::vmx::VmcsRegion { page }
//! }
//! ```
//! ```compile_fail,E0423
//! use tessera_arch::vmx::{Page, PageRegion, Token, VmcsRegion};
//! fn forge(page: &'static Page) -> VmcsRegion {
//!     VmcsRegion::from_page(page, Token(()))
//! }
//! ```

use super::page::Page;

/// What a handle of one page is made from; only tessera-arch can name [`Token`], so only it can
/// call `from_page`.
pub trait PageRegion: Sized {
    #[doc(hidden)]
    fn from_page(page: &'static Page, token: Token) -> Self;
}

/// Proof that a handle is made inside tessera-arch (its field is private).
#[doc(hidden)]
pub struct Token(());

impl Token {
    pub(crate) fn new() -> Self {
        Token(())
    }
}

macro_rules! page_region {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            page: &'static Page,
        }

        impl PageRegion for $name {
            fn from_page(page: &'static Page, _: Token) -> Self {
                Self { page }
            }
        }

        impl $name {
            pub(crate) fn page(&self) -> &'static Page {
                self.page
            }
        }
    };
}

page_region!(
    /// The page a CPU gives VMXON (`vmx::enable`), which the processor owns from then on.
    VmxonRegion
);
page_region!(
    /// The page of one VMCS (`Vmcs::new`).
    VmcsRegion
);

impl VmxonRegion {
    /// Physical address of the region (`VmxRoot::region_guard` gives the same once it is in use).
    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}

impl VmcsRegion {
    /// Physical address of the region (`Vmcs::phys_addr` gives the same once it is one).
    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}
page_region!(
    /// The page of one vCPU's virtual APIC (`VirtualApicPage::init`).
    VirtualApicRegion
);
page_region!(
    /// The page of one shared MSR bitmap (`MsrBitmaps::build`).
    MsrBitmapRegion
);

/// I/O bitmaps A and B: two consecutive pages (`IoBitmapPair::build`).
#[derive(Debug)]
pub struct IoBitmapRegions {
    pages: &'static [Page; 2],
}

impl IoBitmapRegions {
    pub(crate) fn new(pages: &'static [Page; 2]) -> Self {
        IoBitmapRegions { pages }
    }

    pub(crate) fn pages(&self) -> &'static [Page; 2] {
        self.pages
    }
}

/// The consecutive pages of one EPT, its PML4 first (`Ept::build`).
#[derive(Debug)]
pub struct EptPages {
    pages: &'static [Page],
}

impl EptPages {
    pub(crate) fn new(pages: &'static [Page]) -> Self {
        EptPages { pages }
    }

    pub(crate) fn pages(&self) -> &'static [Page] {
        self.pages
    }

    /// How many pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}
