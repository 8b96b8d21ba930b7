//! The smallest Hermit application: a greeting on standard output, then exit code 0.
#![forbid(unsafe_code)]

#[cfg(target_os = "hermit")]
use hermit as _;

fn main() {
    println!("Hello from Hermit in a Tessera partition!");
}
