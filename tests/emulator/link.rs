//! The build script of the bare-metal test images built on tessera-arch (arch-smoke, vmx-selftest,
//! vmx-emulator-check; each names it with `build = "../../../tests/emulator/link.rs"`): links them
//! with the hypervisor's own `linker.ld`, the layout tessera-arch's boot code asserts.
#![forbid(unsafe_code)]

fn main() {
    println!("cargo:rerun-if-changed=../../../tests/emulator/link.rs");
    println!("cargo:rerun-if-changed=../../../linker.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default() == "none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        println!("cargo:rustc-link-arg-bins=-T{dir}/../../../linker.ld");
    }
}
