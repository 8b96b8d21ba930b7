//! `tessera-latency-record`: the latency lab's two wire formats. **Records** are the lines a
//! latency guest prints (through the hypervisor's console, so a serial capture from real hardware
//! holds the same text): `TLR1 v=<vcpu> q=<seq> <kind> <fields> *<crc32>`, versioned by the tag and
//! checked by a CRC-32 over everything before ` *`. The **probe plan** is the fixed-size binary
//! block `cargo xtask latency` writes into the guest image: which vCPU measures what, with which
//! vector, how many samples. Encoding is `no_std` (the guest); decoding needs the `std` feature.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
pub mod decode;
mod line;
pub mod plan;

pub use line::{crc32, RecordLine, LINE_MAX_BYTES};

/// The tag every record line starts with; the digit is the format version.
pub const TAG: &str = "TLR1";
/// What any version's tag starts with (a record of another version is refused by name).
pub const TAG_FAMILY: &str = "TLR";

/// A probe family: what a sample measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Sender TSC before the ICR write to receiver TSC at handler entry.
    IpiOneWay = 1,
    /// Initiator TSC before the ICR write to the reply's handler entry on the initiator.
    IpiRoundTrip = 2,
    /// TSC at timer handler entry minus the programmed TSC deadline.
    TimerLateness = 3,
}

/// How a waiting vCPU waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wait {
    /// Spinning with interrupts enabled.
    Poll = 1,
    /// `STI; HLT` between checks (HLT does not exit in Tessera).
    Halt = 2,
}

/// A vCPU's part in a probe, which decides what its records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// One-way sender: TSC stamps taken just before each ICR write.
    Send,
    /// One-way receiver: TSC stamps at handler entry.
    Receive,
    /// Round-trip initiator: one value (cycles) per round trip.
    Initiate,
    /// Round-trip responder: exits only.
    Respond,
    /// Timer: one value (cycles late) per expiry.
    Timer,
}

/// Names written in records and reports.
pub trait Named: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
    /// The value named `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl Named for Family {
    const ALL: &'static [Self] = &[
        Family::IpiOneWay,
        Family::IpiRoundTrip,
        Family::TimerLateness,
    ];
    fn name(self) -> &'static str {
        match self {
            Family::IpiOneWay => "ipi-oneway",
            Family::IpiRoundTrip => "ipi-roundtrip",
            Family::TimerLateness => "timer-lateness",
        }
    }
}

impl Named for Wait {
    const ALL: &'static [Self] = &[Wait::Poll, Wait::Halt];
    fn name(self) -> &'static str {
        match self {
            Wait::Poll => "poll",
            Wait::Halt => "halt",
        }
    }
}

impl Named for Role {
    const ALL: &'static [Self] = &[
        Role::Send,
        Role::Receive,
        Role::Initiate,
        Role::Respond,
        Role::Timer,
    ];
    fn name(self) -> &'static str {
        match self {
            Role::Send => "send",
            Role::Receive => "recv",
            Role::Initiate => "init",
            Role::Respond => "resp",
            Role::Timer => "timer",
        }
    }
}

impl Role {
    /// Whether the values of this role are absolute TSC stamps (delta-coded in `D` records).
    pub const fn carries_stamps(self) -> bool {
        matches!(self, Role::Send | Role::Receive)
    }
}
