//! The EPT page-count rule the heap plan is sized with: tessera-vmx's
//! (`tessera_vmx::tables::ept_pages`), the one its EPT builder follows.

pub use tessera_vmx::tables::ept_pages::*;
