//! The build script of every test guest that loads at the standard address (each names it with
//! `build = "../../guest/link.rs"`): links the bare-metal build with tests/guest/guest.ld.
#![forbid(unsafe_code)]

fn main() {
    println!("cargo:rerun-if-changed=../../guest/link.rs");
    println!("cargo:rerun-if-changed=../../guest/guest.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default() == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/../../guest/guest.ld");
    }
}
