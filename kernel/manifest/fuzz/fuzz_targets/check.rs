//! Fuzz target: parse and validate an arbitrary board + partitions pair (split at the first NUL
//! byte), then plan the PID tables when valid. Nothing may panic.
#![no_main]
#![forbid(unsafe_code)]

mod exercise;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (board, manifest) = text.split_once('\0').unwrap_or((text, ""));
    exercise::check_and_plan(board, manifest);
});
