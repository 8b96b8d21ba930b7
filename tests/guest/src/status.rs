//! The statuses a test guest's vCPU stops with (STOP hypercall): the hypervisor logs them, and
//! `tests/README.md` lists them.

/// The guest's test passed.
pub const STATUS_PASS: u64 = 0;
/// The guest's test failed (its console says why).
pub const STATUS_FAIL: u64 = 1;
/// The guest panicked.
pub const STATUS_PANIC: u64 = 2;
/// An unexpected exception (vector and RIP on the console).
pub const STATUS_EXCEPTION: u64 = 3;
/// The boot-info block failed its check.
pub const STATUS_BAD_BOOT_INFO: u64 = 4;
/// The vCPU's index has no stack slot (more than `layout::MAX_VCPUS` vCPUs).
pub const STATUS_NO_STACK: u64 = 5;
