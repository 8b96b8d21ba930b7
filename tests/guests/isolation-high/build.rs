//! Links the bare-metal build with the test-guest linker script (tests/guest/guest.ld) moved to
//! guest-physical `LOAD_ADDRESS`: the script is copied to OUT_DIR with its one start address
//! replaced, so the two guests cannot drift apart.
#![forbid(unsafe_code)]

/// Where this guest's image starts: 1 MiB above a 64 MiB guest base.
const LOAD_ADDRESS: &str = "0x4100000";
/// The start address line of tests/guest/guest.ld.
const SCRIPT_START: &str = ". = 0x100000;";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../guest/guest.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default() != "none" {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let source = format!("{dir}/../../guest/guest.ld");
    let script = std::fs::read_to_string(&source).expect("tests/guest/guest.ld is readable");
    assert_eq!(
        script.matches(SCRIPT_START).count(),
        1,
        "{source} must set its start address once with `{SCRIPT_START}`"
    );
    let moved = script.replace(SCRIPT_START, &format!(". = {LOAD_ADDRESS};"));
    let target = format!("{out}/guest-high.ld");
    std::fs::write(&target, moved).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-arg-bins=-T{target}");
}
