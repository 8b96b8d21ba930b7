//! Hypervisor side of the guest console: bandwidth shares and the wait bound (`budget`), rate
//! limiting (`TokenBucket`), line splitting and wire cost (`LineBuffer`), escaping (`Escaped`).

pub mod budget;
mod escape;
mod lines;
mod token_bucket;

pub use escape::{is_unsafe, Escaped};
pub use lines::{Grant, LineBuffer};
pub use token_bucket::TokenBucket;
