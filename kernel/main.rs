//! Tessera hypervisor entry: bare-metal on `x86_64-unknown-none`; on the host only the pure modules build and test.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
// On the host only the pure modules are reached (by tests); the boot path is bare-metal only.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

mod boot;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod exit;
mod heap;
mod outcome;
mod partition;
mod plan;
mod plan_vmx;
#[cfg(target_os = "none")]
mod run;
#[cfg(target_os = "none")]
mod summary;
#[cfg(target_os = "none")]
mod timing;
mod vcpu;

/// On the host the hypervisor cannot run; this binary only exists so that `cargo test` covers the pure modules.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("tessera is a bare-metal hypervisor: build an image with `cargo xtask image`");
    std::process::exit(2);
}
