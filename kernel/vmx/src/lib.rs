//! Tessera's pure VT-x logic: everything about VMX that can be computed and tested without the hardware.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod apic_timer;
pub mod console;
pub mod controls;
pub mod cpuid;
pub mod cpuid_result;
pub mod exit;
pub mod fields;
pub mod guest_abi;
pub mod guest_state;
pub mod ipi;
pub mod msr;
pub mod msr_policy;
pub mod select;
pub mod tables;
