//! Smoke test of tessera-arch in the emulator: reads the boot information and the ACPI MADT, starts
//! every other enabled processor (INIT-SIPI-SIPI), checks each reports the APIC ID the MADT gave it
//! and enters VMX root, then prints `TESSERA-RESULT`. Bare-metal only.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
// On the host only the pure check below is used, by its tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

mod check;
#[cfg(target_os = "none")]
mod smoke;

#[cfg(target_os = "none")]
tessera_arch::entry_points!(
    bsp: smoke::bsp_main,
    ap: smoke::ap_main,
    cpus: smoke::CPUS,
    ap_stack_bytes: 64 * 1024,
    boot_map_gib: 1,
    console_port: tessera_arch::serial::COM1_PORT,
);

/// On the host the smoke test cannot run: it is a bare-metal image for the emulator.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("arch-smoke is a bare-metal image: run it with `cargo xtask emulator run`");
    std::process::exit(2);
}
