//! The block `cargo xtask latency` writes the probe plan into: a zero-initialised array of atomics
//! placed by name in the `.latency_plan` section, which `guest.ld` keeps apart from everything else.
//! Here because `link_section` counts as unsafe code, which only this library may hold (the
//! latency guest itself forbids it).

use core::sync::atomic::AtomicU8;
use tessera_latency_record::plan::PLAN_BYTES;

/// Zeros until xtask writes the plan into the ELF; atomics so the compiler cannot fold the zeros.
#[link_section = ".latency_plan"]
#[used]
pub static PLAN_BLOCK: [AtomicU8; PLAN_BYTES] = [const { AtomicU8::new(0) }; PLAN_BYTES];
