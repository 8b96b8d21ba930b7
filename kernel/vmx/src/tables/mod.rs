//! Builders that fill caller-provided memory with the structures VMX reads: EPT, MSR and I/O bitmaps,
//! posted-interrupt descriptors, PID-pointer table entries and the virtual-APIC page.

mod ept;
mod ept_entry;
mod ept_walk;

#[cfg(test)]
mod ept_tests;

pub use ept::{EptBuilder, EptError, EptMapping, PageSlot, TablePage};
pub use ept_entry::{
    eptp, is_present, leaf_entry, table_entry, EptPermissions, MemoryType, GUEST_PHYSICAL_LIMIT,
    PAGE_2M_BYTES, PAGE_4K_BYTES,
};
pub use ept_walk::{translate, Translation};
