//! Builders that fill caller-provided memory with the structures VMX reads: EPT, MSR and I/O bitmaps,
//! posted-interrupt descriptors, PID-pointer table entries and the virtual-APIC page.

mod ept;
mod ept_entry;
pub mod ept_pages;
mod ept_walk;
mod io_bitmap;
mod msr_bitmap;
mod page;
mod posted;
mod vapic;

#[cfg(test)]
mod ept_tests;

pub use ept::{EptBuilder, EptError, EptMapping, PageSlot};
pub use ept_entry::{
    eptp, is_present, leaf_entry, table_entry, EptPermissions, MemoryType, GUEST_PHYSICAL_LIMIT,
    PAGE_2M_BYTES, PAGE_4K_BYTES,
};
pub use ept_pages::GuestRange;
pub use ept_walk::{translate, Translation};
pub use io_bitmap::{port_access_exits, IoBitmaps, PortRangeTooLong, IO_BITMAP_BYTES};
pub use msr_bitmap::{msr_access_exits, MsrAccess, MsrBitmap, MsrOutsideBitmap, MSR_BITMAP_BYTES};
pub use page::{clear_page_bit, page_bit, PageWords, TablePage, PAGE_WORDS};
pub use posted::{
    control_word, ndst_x2apic, ndst_xapic, pid_table_entry, pid_table_entry_target, PidNotAligned,
    PostOutcome, PostedInterruptDescriptor, PID_ON, PID_SN, PID_TABLE_ENTRY_VALID,
};
pub use vapic::{
    init_virtual_apic_page, offset as apic_offset, read_icr, read_register, write_icr,
    APIC_VERSION, VIRTUAL_APIC_PAGE_BYTES,
};
