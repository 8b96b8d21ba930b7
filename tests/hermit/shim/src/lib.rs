//! The Hermit kernel is linked by this crate's build script; there is nothing to call.
#![no_std]
#![forbid(unsafe_code)]
