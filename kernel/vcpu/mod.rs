//! A vCPU on its physical CPU: what the boot CPU hands it (`launch`), its VMCS (`vmcs`), its run
//! loop (`run`), its local APIC timer (`timer`) and the state other CPUs see (`shared`).

#[cfg(target_os = "none")]
pub mod launch;
#[cfg(target_os = "none")]
pub mod run;
pub mod shared;
#[cfg(target_os = "none")]
pub mod timer;
#[cfg(target_os = "none")]
pub mod vmcs;

#[cfg(target_os = "none")]
pub use run::Vcpu;
