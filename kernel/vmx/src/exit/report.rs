//! The one-line exit-count report (`exits: cpuid=3 vmcall=12 total=15`) and the number of
//! basic-reason slots the exit-counters hypercall returns.

use core::fmt;

use super::reason::{ExitReason, MAX_EXIT_REASON};

/// Basic exit-reason numbers 0..=`MAX_EXIT_REASON`.
pub(super) const SLOTS: usize = MAX_EXIT_REASON as usize + 1;

/// The non-zero counts of `count` in reason order (what both counter layouts report).
pub(super) fn nonzero(
    count: impl Fn(ExitReason) -> u64,
) -> impl Iterator<Item = (ExitReason, u64)> {
    ExitReason::ALL
        .iter()
        .map(move |&reason| (reason, count(reason)))
        .filter(|&(_, count)| count > 0)
}

/// `exits: <reason>=<count> ... [other=N] [unknown=N] total=N`, the counts in reason order.
pub(super) fn write_report(
    f: &mut fmt::Formatter<'_>,
    nonzero: impl Iterator<Item = (ExitReason, u64)>,
    other: u64,
    unknown: u64,
    total: u64,
) -> fmt::Result {
    f.write_str("exits:")?;
    for (reason, count) in nonzero {
        write_count(f, reason.short_name(), count)?;
    }
    if other > 0 {
        write_count(f, "other", other)?;
    }
    if unknown > 0 {
        write_count(f, "unknown", unknown)?;
    }
    write_count(f, "total", total)
}

/// ` <name>=<count>`, written piece by piece rather than through `write!`: the report is formatted
/// on a host stack (the exit-counts hypercall), which is sized from measured depth, and a nested
/// `write!` costs a formatting level.
fn write_count(f: &mut fmt::Formatter<'_>, name: &str, count: u64) -> fmt::Result {
    f.write_str(" ")?;
    f.write_str(name)?;
    f.write_str("=")?;
    fmt::Display::fmt(&count, f)
}
