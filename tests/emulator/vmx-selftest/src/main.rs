//! VMX self-test of the emulator (issue "an IPIv-capable VMX emulator"): two CPUs in VMX root, a
//! sender and a target guest with x2APIC virtualization, posted interrupts and IPI virtualization;
//! one line per case on COM1, then `TESSERA-RESULT: pass` or `fail`. Bare-metal only.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
// On the host only the pure modules (cases, controls, gate encoding) are used, by their tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

mod cases;
mod controls;
#[cfg(target_os = "none")]
mod delivery;
#[cfg(target_os = "none")]
mod entry_checks;
#[cfg(target_os = "none")]
mod field_probe;
mod guest;
#[cfg(target_os = "none")]
mod hlt_wake;
#[cfg(target_os = "none")]
mod ipiv_off;
#[cfg(target_os = "none")]
mod masked;
#[cfg(target_os = "none")]
mod sender;
#[cfg(target_os = "none")]
mod shared;
#[cfg(target_os = "none")]
mod target;
#[cfg(target_os = "none")]
mod timer_entry;
#[cfg(target_os = "none")]
mod timer_guests;
#[cfg(target_os = "none")]
mod timer_off;
#[cfg(target_os = "none")]
mod timer_virt;
#[cfg(target_os = "none")]
mod vcpu;
#[cfg(target_os = "none")]
mod xapic;

#[cfg(target_os = "none")]
mod bsp;

#[cfg(target_os = "none")]
tessera_arch::entry_points!(
    bsp: bsp::main,
    ap: target::main,
    cpus: 2,
    ap_stack_bytes: 64 * 1024,
    boot_map_gib: 1,
    console_port: tessera_arch::serial::COM1_PORT,
);

/// On the host the self-test cannot run: it is a bare-metal image for the emulator.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("vmx-selftest is a bare-metal image: run it with `cargo xtask emulator run` (see tests/emulator/)");
    std::process::exit(2);
}
