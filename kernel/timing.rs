//! Boot time in TSC cycles: the boot CPU marks its first Rust instruction, the first vCPU to reach
//! its first VM entry prints the span (`SUMMARY boot_to_first_entry_cycles=`).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// TSC at the boot CPU's first Rust instruction.
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static FIRST_ENTRY_SEEN: AtomicBool = AtomicBool::new(false);

/// Called by the boot CPU first thing; later spans are measured from here.
pub fn mark_boot_start() {
    BOOT_TSC.store(tessera_arch::tsc_cycles(), Ordering::SeqCst);
}

/// TSC cycles since `mark_boot_start`.
pub fn since_boot_start(now_tsc: u64) -> u64 {
    now_tsc.saturating_sub(BOOT_TSC.load(Ordering::SeqCst))
}

/// Called before each vCPU's first VM entry; the first one logs the boot time in TSC cycles.
/// It usually runs on an AP, whose TSC may lag the boot CPU's: a negative span reads as 0.
pub fn first_entry_reached() {
    if !FIRST_ENTRY_SEEN.swap(true, Ordering::SeqCst) {
        let cycles = since_boot_start(tessera_arch::tsc_cycles());
        tessera_arch::println!("SUMMARY boot_to_first_entry_cycles={cycles}");
    }
}
