//! What every test needs first: its channel from the boot info, and the hang guard.

use tessera_guest::guest_abi::BootChannel;
use tessera_guest::{BootInfo, Failure};

/// How long a side waits for the other to set up or finish (a hang guard, not a measurement).
pub const PATIENCE_CYCLES: u64 = 3_000_000_000;

/// The channel called `name` in this partition's boot info.
pub fn channel<'i>(info: &'i BootInfo, name: &str) -> Result<&'i BootChannel, Failure> {
    info.channels()
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| Failure::new(format_args!("no channel `{name}` in the boot info")))
}
