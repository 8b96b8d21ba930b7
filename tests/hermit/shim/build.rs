//! Links `libhermit.a` from the directory `cargo xtask hermit` names in TESSERA_HERMIT_KERNEL_DIR
//! (only for the Hermit target; other targets get an empty crate).

fn main() {
    println!("cargo:rerun-if-env-changed=TESSERA_HERMIT_KERNEL_DIR");
    let hermit = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "hermit");
    if !hermit {
        return;
    }
    let Ok(dir) = std::env::var("TESSERA_HERMIT_KERNEL_DIR") else {
        panic!("TESSERA_HERMIT_KERNEL_DIR is not set: build Hermit applications with `cargo xtask hermit`");
    };
    println!("cargo:rerun-if-changed={dir}/libhermit.a");
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-lib=static=hermit");
}
