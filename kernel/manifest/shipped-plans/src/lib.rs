//! Every shipped manifest's generated plan (see `build.rs`), each in a module of its own, so that
//! the test suite type-checks every one against the plan types the kernel uses, not only the one
//! the hypervisor's build selects. Snapshots of the generated sources: `snapshots/`; after a
//! change to the generator or a manifest, update them with
//! `TESSERA_UPDATE_SNAPSHOTS=1 cargo test -p tessera-shipped-plans` and review the diff.
#![no_std]
#![forbid(unsafe_code)]

/// One shipped manifest's generated items.
#[derive(Clone, Copy, Debug)]
pub struct Shipped {
    /// The partitions file, relative to the checkout.
    pub manifest: &'static str,
    /// Its module here (and the stem of its snapshot).
    pub module: &'static str,
    pub plan: &'static tessera_manifest::Plan<'static>,
    pub heap_bytes: usize,
    pub partitions: usize,
    pub vcpus: usize,
    pub cpu_slots: usize,
    pub max_ept_pages: usize,
    pub console_port: u16,
}

include!(concat!(env!("OUT_DIR"), "/plans.rs"));
