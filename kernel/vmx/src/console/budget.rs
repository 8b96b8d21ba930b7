//! How the serial console's bandwidth is shared, and the longest a console write can wait.
//!
//! The UART drains one byte every `cycles_per_byte` TSC cycles (10 bits a byte at its baud rate;
//! the hypervisor measures it at boot). Guests together get [`GUEST_SHARE`] of that rate, the rest
//! is left for the hypervisor's own lines; each partition that prints through the hypercall gets a
//! token bucket refilled at its weight's part of the guests' share, so all of them together can
//! never put more on the wire than it drains. Every wire byte is paid for: the `[<partition>] `
//! prefix and the newline too.
//!
//! Lines are written whole under a FIFO (ticket) lock, so a CPU that wants to print waits behind at
//! most one line of each other CPU. While vCPUs run no line is longer than
//! [`LINE_MAX_WIRE_BYTES`] (guest lines by construction, the hypervisor's stop reports and log lines
//! by their format, checked in tests), which bounds the wait: [`wait_bound`].

/// Longest text of one guest line; longer lines are printed in pieces of this size.
pub const LINE_TEXT_MAX_BYTES: usize = 160;
/// Longest partition name (tessera-manifest's name rule).
pub const PARTITION_NAME_MAX_BYTES: u64 = 32;
/// Wire bytes a guest line adds to its text: `[`, the name, `] ` and the newline.
pub const fn line_overhead_bytes(partition_name_bytes: u64) -> u64 {
    partition_name_bytes + 4
}
/// Longest line on the wire while vCPUs run: a guest line with the longest name and text.
pub const LINE_MAX_WIRE_BYTES: u64 =
    line_overhead_bytes(PARTITION_NAME_MAX_BYTES) + LINE_TEXT_MAX_BYTES as u64;
/// Share of the console's rate the guests get together (numerator, denominator).
pub const GUEST_SHARE: (u64, u64) = (3, 4);
/// Bytes a partition may print at once before its refill rate applies.
pub const PARTITION_BURST_BYTES: u64 = 1024;

/// TSC cycles that earn a partition one console byte: its `weight` of `total_weight` (the sum over
/// partitions printing through the hypercall) of the guests' share of one byte per
/// `cycles_per_byte`. Rounded up, so the sum of the rates never exceeds the guests' share.
pub fn refill_cycles_per_byte(cycles_per_byte: u64, weight: u64, total_weight: u64) -> u64 {
    let (share_num, share_den) = GUEST_SHARE;
    let numerator = u128::from(cycles_per_byte.max(1))
        * u128::from(total_weight.max(1))
        * u128::from(share_den);
    let denominator = u128::from(weight.max(1)) * u128::from(share_num);
    u64::try_from(numerator.div_ceil(denominator)).unwrap_or(u64::MAX)
}

/// The longest a CPU waits for the console before its own line goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitBound {
    /// One line of the longest kind from each other CPU.
    pub bytes: u64,
    pub cycles: u64,
}

/// The wait bound on a machine of `cpus` CPUs printing, with the UART draining one byte every
/// `cycles_per_byte` TSC cycles.
pub fn wait_bound(cpus: u64, cycles_per_byte: u64) -> WaitBound {
    let bytes = cpus.saturating_sub(1) * LINE_MAX_WIRE_BYTES;
    WaitBound {
        bytes,
        cycles: bytes.saturating_mul(cycles_per_byte),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_line_is_a_full_guest_line() {
        assert_eq!(LINE_MAX_WIRE_BYTES, 1 + 32 + 2 + 160 + 1);
    }

    #[test]
    fn partitions_together_never_exceed_the_guests_share() {
        let cycles_per_byte = 4350;
        for weights in [&[1u64, 1][..], &[1, 2, 5], &[3], &[1, 1, 1, 1], &[7, 100]] {
            let total: u64 = weights.iter().sum();
            let bytes_per_cycle: f64 = weights
                .iter()
                .map(|&w| 1.0 / refill_cycles_per_byte(cycles_per_byte, w, total) as f64)
                .sum();
            let share = GUEST_SHARE.0 as f64 / GUEST_SHARE.1 as f64;
            assert!(
                bytes_per_cycle <= share / cycles_per_byte as f64,
                "{weights:?}"
            );
            assert!(
                bytes_per_cycle > 0.99 * share / cycles_per_byte as f64,
                "{weights:?}"
            );
        }
    }

    #[test]
    fn a_heavier_partition_refills_faster() {
        let light = refill_cycles_per_byte(4350, 1, 3);
        let heavy = refill_cycles_per_byte(4350, 2, 3);
        assert_eq!(light, 17_400);
        assert_eq!(heavy, 8_700);
        assert_eq!(refill_cycles_per_byte(0, 0, 0), 2, "zeros are ones");
    }

    #[test]
    fn the_wait_is_one_line_per_other_cpu() {
        let bound = wait_bound(4, 4350);
        assert_eq!(bound.bytes, 3 * 196);
        assert_eq!(bound.cycles, 3 * 196 * 4350);
        assert_eq!(wait_bound(1, 4350).bytes, 0);
    }
}
