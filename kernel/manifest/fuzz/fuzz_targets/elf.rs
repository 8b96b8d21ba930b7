//! Fuzz target: the partition image loader on arbitrary bytes. Nothing may panic.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use tessera_manifest::check::load_image;
use tessera_manifest::Memory;

fuzz_target!(|data: &[u8]| {
    let memory = Memory { guest_base: 0, host_base: 0x100_0000, bytes: 32 << 20 };
    let _ = load_image(data, Some(memory));
    let _ = load_image(data, None);
});
