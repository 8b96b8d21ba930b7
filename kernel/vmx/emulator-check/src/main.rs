//! Emulator check of tessera-vmx: one guest whose EPT, bitmaps, virtual-APIC page, boot area, guest
//! state and control fields all come from tessera-vmx; the image checks every exit the guest takes
//! and prints `TESSERA-RESULT`. Bare-metal only.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
// On the host only the pure expectations below are used, by their tests.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

#[cfg(target_os = "none")]
mod checks;
mod expect;
mod guest_code;
#[cfg(target_os = "none")]
mod pages;
#[cfg(target_os = "none")]
mod run;
#[cfg(target_os = "none")]
mod vmcs;

#[cfg(target_os = "none")]
tessera_arch::entry_points!(
    bsp: run::bsp_main,
    ap: run::ap_main,
    cpus: 1,
    ap_stack_bytes: 4096,
    boot_map_gib: 1,
    console_port: tessera_arch::serial::COM1_PORT,
);

/// On the host the check cannot run: it is a bare-metal image for the emulator.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("vmx-emulator-check is a bare-metal image: run it with `cargo xtask emulator run`");
    std::process::exit(2);
}
