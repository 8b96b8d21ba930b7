//! Tessera's hypercall ABI, shared by the hypervisor and guests: VMCALL with the call number in RAX
//! and arguments in RBX, RCX, RDX; the result comes back in RAX (values above `ERROR_FIRST` are errors).
//! VMCALL is three bytes (0F 01 C1); the hypervisor advances RIP past it.

/// Write guest bytes to the console: RBX = guest-physical address, RCX = length in bytes
/// (at most [`CONSOLE_WRITE_MAX_BYTES`]). Returns the bytes accepted; fewer when rate-limited;
/// [`ERROR_NO_CONSOLE`] for a partition whose console is a device of its own.
pub const HYPERCALL_CONSOLE_WRITE: u64 = 1;
/// Print this vCPU's exit counters on the console (one `exits: ...` line, paid for from the same
/// rate limit as console writes and dropped whole when it is spent). Returns 0, or
/// [`ERROR_NO_CONSOLE`] for a partition whose console is a device of its own.
pub const HYPERCALL_PRINT_EXIT_COUNTS: u64 = 2;
/// Read one exit counter of this vCPU: RBX = basic exit-reason number, or [`EXIT_COUNT_TOTAL`].
/// Returns the count, not including this VMCALL itself.
pub const HYPERCALL_READ_EXIT_COUNT: u64 = 3;
/// Read this vCPU's count of IPIs the hypervisor denied (dropped) for it as sender. Returns the count.
pub const HYPERCALL_READ_DENIED_IPIS: u64 = 4;
/// Stop this vCPU for good (the guest is done): RBX = status (0 = success). Does not return.
pub const HYPERCALL_STOP: u64 = 5;
/// Read one fact about the console: RBX = one of the `CONSOLE_FACT_*` values. Returns it.
pub const HYPERCALL_CONSOLE_FACT: u64 = 9;

/// TSC cycles the UART takes per byte (measured at boot).
pub const CONSOLE_FACT_CYCLES_PER_BYTE: u64 = 0;
/// Longest line on the wire while vCPUs run, in bytes.
pub const CONSOLE_FACT_LINE_MAX_BYTES: u64 = 1;
/// The longest a console write waits for other CPUs' lines, in bytes.
pub const CONSOLE_FACT_WAIT_BOUND_BYTES: u64 = 2;
/// The same wait, in TSC cycles.
pub const CONSOLE_FACT_WAIT_BOUND_CYCLES: u64 = 3;
/// Bytes of this vCPU's console writes the rate limit refused so far.
pub const CONSOLE_FACT_DROPPED_BYTES: u64 = 4;
/// TSC cycles that earn this partition one console byte.
pub const CONSOLE_FACT_REFILL_CYCLES_PER_BYTE: u64 = 5;
/// Copy all of this vCPU's exit counters into guest memory in one call: RBX = guest-physical
/// address of an 8-byte aligned array of `u64` inside the partition's memory, RCX = its length in
/// entries (at most [`EXIT_COUNTER_ENTRIES`]). Entry `r` is the count of basic exit reason `r`, the
/// last entry exits of unknown reason; this VMCALL itself is not counted. Returns RCX, or
/// `ERROR_INVALID_ARGUMENT` with nothing written.
pub const HYPERCALL_READ_EXIT_COUNTERS: u64 = 10;

/// RBX value for [`HYPERCALL_READ_EXIT_COUNT`] that asks for the total over every reason.
pub const EXIT_COUNT_TOTAL: u64 = u64::MAX;
/// Longest buffer one console write takes.
pub const CONSOLE_WRITE_MAX_BYTES: u64 = 256;
/// Entries [`HYPERCALL_READ_EXIT_COUNTERS`] fills: one per basic exit reason 0..=79, then unknown.
pub const EXIT_COUNTER_ENTRIES: u64 = 81;

/// Results at or above this value are errors.
pub const ERROR_FIRST: u64 = u64::MAX - 15;
/// RAX: unknown hypercall number.
pub const ERROR_UNKNOWN_CALL: u64 = u64::MAX;
/// RAX: an argument is out of range (buffer outside the partition's memory, length too big, bad reason).
pub const ERROR_INVALID_ARGUMENT: u64 = u64::MAX - 1;
/// RAX: the partition's console is a device it drives itself (manifest `console = "<device>"`),
/// so the hypervisor prints nothing for it: a retry can never succeed.
pub const ERROR_NO_CONSOLE: u64 = u64::MAX - 2;

/// A decoded hypercall, from the guest's RAX, RBX, RCX, RDX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    ConsoleWrite { guest_address: u64, bytes: u64 },
    PrintExitCounts,
    ReadExitCount { reason: u64 },
    ReadDeniedIpis,
    Stop { status: u64 },
    ConsoleFact { which: u64 },
    ReadExitCounters { guest_address: u64, entries: u64 },
    Unknown { number: u64 },
}

impl Hypercall {
    /// Decodes the registers at a VMCALL exit.
    pub const fn decode(rax: u64, rbx: u64, rcx: u64) -> Self {
        match rax {
            HYPERCALL_CONSOLE_WRITE => Hypercall::ConsoleWrite {
                guest_address: rbx,
                bytes: rcx,
            },
            HYPERCALL_PRINT_EXIT_COUNTS => Hypercall::PrintExitCounts,
            HYPERCALL_READ_EXIT_COUNT => Hypercall::ReadExitCount { reason: rbx },
            HYPERCALL_READ_DENIED_IPIS => Hypercall::ReadDeniedIpis,
            HYPERCALL_STOP => Hypercall::Stop { status: rbx },
            HYPERCALL_CONSOLE_FACT => Hypercall::ConsoleFact { which: rbx },
            HYPERCALL_READ_EXIT_COUNTERS => Hypercall::ReadExitCounters {
                guest_address: rbx,
                entries: rcx,
            },
            number => Hypercall::Unknown { number },
        }
    }
}

/// Whether a RAX result is an error code.
pub const fn is_error(result: u64) -> bool {
    result >= ERROR_FIRST
}

/// The offset into the partition's memory of a console buffer, if `guest_address..+bytes` lies
/// inside `memory_guest_base..+memory_bytes` and `bytes <= CONSOLE_WRITE_MAX_BYTES`.
pub const fn console_buffer_offset(
    memory_guest_base: u64,
    memory_bytes: u64,
    guest_address: u64,
    bytes: u64,
) -> Option<u64> {
    if bytes > CONSOLE_WRITE_MAX_BYTES {
        return None;
    }
    buffer_offset(memory_guest_base, memory_bytes, guest_address, bytes)
}

/// The offset into the partition's memory of the exit-counter array of `entries` `u64`s at
/// `guest_address`, if it lies inside `memory_guest_base..+memory_bytes`, is 8-byte aligned and
/// `entries <= EXIT_COUNTER_ENTRIES`.
pub const fn counter_buffer_offset(
    memory_guest_base: u64,
    memory_bytes: u64,
    guest_address: u64,
    entries: u64,
) -> Option<u64> {
    if entries > EXIT_COUNTER_ENTRIES || !guest_address.is_multiple_of(8) {
        return None;
    }
    buffer_offset(memory_guest_base, memory_bytes, guest_address, entries * 8)
}

/// The offset of `guest_address..+bytes` in `memory_guest_base..+memory_bytes`, if inside.
const fn buffer_offset(
    memory_guest_base: u64,
    memory_bytes: u64,
    guest_address: u64,
    bytes: u64,
) -> Option<u64> {
    if guest_address < memory_guest_base {
        return None;
    }
    let offset = guest_address - memory_guest_base;
    match offset.checked_add(bytes) {
        Some(end) if end <= memory_bytes => Some(offset),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_call() {
        assert_eq!(
            Hypercall::decode(1, 0x1000, 12),
            Hypercall::ConsoleWrite {
                guest_address: 0x1000,
                bytes: 12
            }
        );
        assert_eq!(Hypercall::decode(2, 9, 9), Hypercall::PrintExitCounts);
        assert_eq!(
            Hypercall::decode(3, 18, 0),
            Hypercall::ReadExitCount { reason: 18 }
        );
        assert_eq!(Hypercall::decode(4, 0, 0), Hypercall::ReadDeniedIpis);
        assert_eq!(Hypercall::decode(5, 1, 0), Hypercall::Stop { status: 1 });
        assert_eq!(
            Hypercall::decode(9, 3, 0),
            Hypercall::ConsoleFact { which: 3 }
        );
        assert_eq!(
            Hypercall::decode(10, 0x2000, 81),
            Hypercall::ReadExitCounters {
                guest_address: 0x2000,
                entries: 81
            }
        );
        assert_eq!(
            Hypercall::decode(77, 0, 0),
            Hypercall::Unknown { number: 77 }
        );
    }

    /// The guest ABI's numbers, by hand: RAX from 2^64 - 16 up is an error, all ones an unknown
    /// call, one less a bad argument, one less again no console; any count a call can return lies
    /// below.
    #[test]
    fn errors_are_the_top_sixteen_values() {
        assert!(is_error(u64::MAX) && is_error(0xFFFF_FFFF_FFFF_FFF0));
        assert!(!is_error(0xFFFF_FFFF_FFFF_FFEF) && !is_error(0));
        assert_eq!(
            (ERROR_UNKNOWN_CALL, ERROR_INVALID_ARGUMENT, ERROR_NO_CONSOLE),
            (
                0xFFFF_FFFF_FFFF_FFFF,
                0xFFFF_FFFF_FFFF_FFFE,
                0xFFFF_FFFF_FFFF_FFFD
            )
        );
        assert!(is_error(ERROR_NO_CONSOLE));
        assert!(!is_error(CONSOLE_WRITE_MAX_BYTES) && !is_error(EXIT_COUNTER_ENTRIES));
    }

    #[test]
    fn counter_arrays_must_be_aligned_inside_memory_and_not_too_long() {
        let (base, size) = (0x10_0000, 0x200_0000);
        let whole = EXIT_COUNTER_ENTRIES;
        assert_eq!(
            counter_buffer_offset(base, size, base + 0x1000, whole),
            Some(0x1000)
        );
        assert_eq!(
            counter_buffer_offset(base, size, base + size - 8 * whole, whole),
            Some(size - 8 * whole)
        );
        assert_eq!(counter_buffer_offset(base, size, base + size - 8, 2), None);
        assert_eq!(
            counter_buffer_offset(base, size, base + 4, 1),
            None,
            "misaligned"
        );
        assert_eq!(counter_buffer_offset(base, size, base, whole + 1), None);
        assert_eq!(counter_buffer_offset(base, size, base - 8, 1), None);
        assert_eq!(
            counter_buffer_offset(0, u64::MAX, u64::MAX - 7, 2),
            None,
            "no overflow"
        );
    }

    #[test]
    fn console_buffers_must_stay_inside_partition_memory() {
        let (base, size) = (0x10_0000, 0x200_0000);
        assert_eq!(
            console_buffer_offset(base, size, 0x10_1000, 16),
            Some(0x1000)
        );
        assert_eq!(
            console_buffer_offset(base, size, base + size - 16, 16),
            Some(size - 16)
        );
        assert_eq!(
            console_buffer_offset(base, size, base + size - 15, 16),
            None
        );
        assert_eq!(console_buffer_offset(base, size, base - 1, 1), None);
        assert_eq!(
            console_buffer_offset(base, size, base, CONSOLE_WRITE_MAX_BYTES + 1),
            None
        );
        assert_eq!(
            console_buffer_offset(0, u64::MAX, u64::MAX - 2, 16),
            None,
            "no overflow"
        );
    }
}
