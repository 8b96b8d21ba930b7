//! A vCPU on its physical CPU (`Vcpu`): what the boot CPU hands it (`launch`), its VMCS (`vmcs`),
//! its local APIC timer (`timer`) and the state other CPUs see (`shared`). Below the exit handlers
//! and the run loop (`crate::run`), which both work on a `Vcpu`.

#[cfg(target_os = "none")]
pub mod launch;
pub mod shared;
#[cfg(target_os = "none")]
pub mod timer;
#[cfg(target_os = "none")]
pub mod vmcs;

#[cfg(target_os = "none")]
pub use running::{Vcpu, VcpuStart};

#[cfg(target_os = "none")]
mod running;
