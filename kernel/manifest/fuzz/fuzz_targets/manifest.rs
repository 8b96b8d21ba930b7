//! Fuzz target: an arbitrary partitions file against the shipped emulator board, so that mutations
//! of valid manifests reach every semantic check. Nothing may panic.
#![no_main]
#![forbid(unsafe_code)]

mod exercise;

use libfuzzer_sys::fuzz_target;

const BOARD: &str = include_str!("../../../../board/emulator.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = std::str::from_utf8(data) else { return };
    exercise::check_and_plan(BOARD, manifest);
});
