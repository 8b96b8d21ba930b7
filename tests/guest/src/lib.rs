//! `tessera-guest`: the runtime of Tessera's test unikernels. A guest crate writes
//! `tessera_guest::entry!(run)` with `fn run(&'static BootInfo) -> TestResult` (any name but `main`,
//! which the macro defines on the host); `_start` gives each
//! vCPU its own stack, `main` runs on every vCPU, and its result goes to the console and to the
//! hypervisor (STOP hypercall). All instructions that need `unsafe` live in [`cpu`].
#![cfg_attr(not(test), no_std)]

pub mod apic;
pub mod channel;
pub mod console;
pub mod cpu;
pub mod exception;
pub mod exits;
pub mod fault_probe;
pub mod hypercall;
pub mod idt;
#[cfg(feature = "latency-plan")]
pub mod latency_plan;
pub mod layout;
pub mod paging;
pub mod runtime;
pub mod status;
pub mod time;
pub mod timer;

pub use runtime::{report, Failure, TestResult};
pub use tessera_vmx::guest_abi::{self, BootInfo, BootPeer, PeerRoute};
