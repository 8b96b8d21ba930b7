//! Hypervisor side of the guest console: rate limiting and line splitting.

mod lines;
mod token_bucket;

pub use lines::LineBuffer;
pub use token_bucket::TokenBucket;
