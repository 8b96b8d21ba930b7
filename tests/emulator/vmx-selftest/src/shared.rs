//! State both CPUs share: the descriptors, the PID-pointer table, the target's IDT, the page pool and
//! the target CPU's status.

use crate::cases::{INVALID_ENTRY_ID, RESERVED_BITS_ENTRY_ID, SENDER_VAPIC_ID, TARGET_VAPIC_ID};
use crate::guest::GuestIdt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tessera_arch::vmx::test_hooks::PidTable;
use tessera_arch::vmx::{descriptor_phys_addr, Page, PagePool, PageRegion, PidTableError};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// Posted-interrupt descriptor of the sender guest (virtual APIC ID 0, CPU 0); NV and NDST are set
/// once CPU 0 runs.
pub static SENDER_PID: PostedInterruptDescriptor = PostedInterruptDescriptor::new(0, 0);
/// Posted-interrupt descriptor of the target guest (virtual APIC ID 1, CPU 1); NV and NDST are set
/// once CPU 1 runs.
pub static TARGET_PID: PostedInterruptDescriptor = PostedInterruptDescriptor::new(0, 0);
/// The PID-pointer table both guests use.
pub static PID_TABLE: PidTable = PidTable::new();
/// The target guest's virtual-APIC page (CPU 0 reads its virtual IRR).
pub static TARGET_VAPIC: Page = Page::zeroed();
/// The target guest's IDT.
pub static TARGET_IDT: GuestIdt = GuestIdt::new();
/// Pages for VMXON regions, VMCSs, virtual-APIC pages, the MSR bitmap and guest stacks.
pub static PAGES: PagePool<64> = PagePool::new();

/// Target CPU status: 0 starting, 1 in VMX root, 2 guest launched, 3 failed.
pub static TARGET_STATUS: AtomicU32 = AtomicU32::new(0);
pub const TARGET_IN_VMX_ROOT: u32 = 1;
pub const TARGET_LAUNCHED: u32 = 2;
pub const TARGET_FAILED: u32 = 3;
/// VM exits the target guest took (none are expected: notifications are processed in the guest).
pub static TARGET_EXITS: AtomicU64 = AtomicU64::new(0);
/// Basic reason of the target's last VM exit.
pub static TARGET_LAST_EXIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// A page from the pool; running out is a bug in the pool size.
pub fn page() -> &'static Page {
    PAGES.take().expect("self-test page pool too small")
}

/// A page from the pool as a VMXON region, VMCS region, ... (each pool page goes once).
pub fn region<K: PageRegion>() -> K {
    PAGES.take_region().expect("self-test page pool too small")
}

/// Fills the PID-pointer table: 0 and 1 valid, 2 zero (invalid), 3 the target's address with reserved
/// bit 1 set.
pub fn fill_pid_table() -> Result<(), PidTableError> {
    PID_TABLE.set(SENDER_VAPIC_ID as usize, &SENDER_PID)?;
    PID_TABLE.set(TARGET_VAPIC_ID as usize, &TARGET_PID)?;
    PID_TABLE.set_unusable(INVALID_ENTRY_ID as usize, 0)?;
    PID_TABLE.set_unusable(
        RESERVED_BITS_ENTRY_ID as usize,
        descriptor_phys_addr(&TARGET_PID) | 0b11,
    )
}

/// Sets the target CPU's status.
pub fn set_target_status(status: u32) {
    TARGET_STATUS.store(status, Ordering::SeqCst);
}
