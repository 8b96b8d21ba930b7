//! Links the bare-metal build with the test-guest linker script (tests/guest/guest.ld).
#![forbid(unsafe_code)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../guest/guest.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default() == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/../../guest/guest.ld");
    }
}
