//! A vCPU's first VM entry, computed without hardware: the boot area in guest memory (page tables,
//! GDT/TSS, boot-info blocks), the guest-state fields and the control fields, as VMCS writes into a
//! [`FieldSink`].

mod area;
pub mod boot_area;
mod controls_setup;
mod gdt;
mod guest;
mod layout;
mod writes;

#[cfg(test)]
mod tests;

pub use area::{
    boot_info_block, guest_translate, write_boot_area, write_boot_area_shared, write_boot_info,
};
pub use controls_setup::{
    address_fields, address_writes, control_fields, control_writes, ControlAddresses,
    ControlValues, SetupError,
};
pub use gdt::{CODE_SELECTOR, DATA_SELECTOR, GDT_LIMIT, TSS_SELECTOR};
pub use guest::{
    guest_state_fields, guest_state_writes, Activity, FixedBits, GuestEntry, EFER_NXE, GUEST_CR0,
    GUEST_CR4, GUEST_EFER,
};
pub use layout::{GuestBootLayout, GuestRange, LayoutError, PAGE_BYTES};
pub use writes::{FieldSink, FieldWrites, MAX_WRITES};
