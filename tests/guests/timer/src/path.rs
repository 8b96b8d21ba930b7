//! The path of this vCPU's TSC-deadline timer, as the hypervisor states it in the boot info.

use tessera_guest::guest_abi::TimerPath;
use tessera_guest::BootInfo;

/// `virtualized` or `trapped`.
pub fn name(info: &BootInfo) -> &'static str {
    if info.timer_path == TimerPath::Virtualized as u32 {
        "virtualized"
    } else {
        "trapped"
    }
}
