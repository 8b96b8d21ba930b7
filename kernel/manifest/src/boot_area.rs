//! The boot-area rule the checks apply: tessera-vmx's (`tessera_vmx::guest_state::boot_area`), the
//! one the hypervisor lays each partition's boot area out with.

pub use tessera_vmx::guest_state::boot_area::*;
