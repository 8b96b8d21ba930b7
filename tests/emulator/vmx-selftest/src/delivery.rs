//! What reached the target: its handler's deliveries per case and the virtual IRR, and how long
//! the host waits for either.

use crate::cases::Case;
use crate::guest::DELIVERIES;
use core::sync::atomic::Ordering;
use tessera_arch::vmx::Page;

/// Spins to wait for a delivery on the other CPU, and to be sure one does not come.
pub const DELIVERY_TIMEOUT_SPINS: u64 = 5_000_000;
pub const QUIET_SPINS: u64 = 200_000;

/// How many times the target guest's handler ran for `case`'s vector.
pub fn deliveries(case: &Case) -> u64 {
    case.counter_index()
        .map_or(0, |i| DELIVERIES[i].load(Ordering::SeqCst))
}

/// Whether bit `vector` of the virtual IRR (virtual-APIC page 200H, one 32-bit word per 10H) is set.
pub fn virtual_irr(vapic: &Page, vector: u8) -> bool {
    vapic.read_u32(0x200 + 0x10 * (vector as usize / 32)) & (1 << (vector % 32)) != 0
}
