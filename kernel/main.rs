//! Tessera hypervisor entry: bare-metal on `x86_64-unknown-none`; on the host only the pure modules build and test.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod arch;

/// On the host the hypervisor cannot run; this binary only exists so that `cargo test` covers the pure modules.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("tessera is a bare-metal hypervisor: build an image with `cargo xtask image`");
    std::process::exit(2);
}
