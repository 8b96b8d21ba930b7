//! The IPIv cases the self-test checks, each an x2APIC ICR value the sender guest writes and the
//! outcome the SDM pseudocode (ipiv.md section 4) predicts for the planned PID-pointer table.

/// Virtual APIC ID of the sender guest (CPU 0); its table entry is valid.
pub const SENDER_VAPIC_ID: u32 = 0;
/// Virtual APIC ID of the target guest (CPU 1); its table entry is valid.
pub const TARGET_VAPIC_ID: u32 = 1;
/// Table entry left zero (invalid).
pub const INVALID_ENTRY_ID: u32 = 2;
/// Table entry pointing at the target's descriptor with reserved bit 1 set (bits 5:0 = 000011b).
pub const RESERVED_BITS_ENTRY_ID: u32 = 3;
/// Last PID-pointer index: IDs above it are outside the table.
pub const LAST_PID_INDEX: u16 = 3;
/// Posted-interrupt notification vector on both CPUs.
pub const NOTIFICATION_VECTOR: u8 = 0xF2;
/// First of the 16 vectors the target guest counts (0x40..=0x4F).
pub const FIRST_COUNTED_VECTOR: u8 = 0x40;

/// What the descriptor of the target looks like before the ICR write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Normal,
    /// The target guest still runs with IF = 0 (as does its host); it enables interrupts only after
    /// this case. Must be the first case.
    TargetInterruptsMasked,
    /// SN = 1: the processor posts but must not notify.
    SuppressNotification,
    /// ON = 1 already: the processor posts but must not notify again.
    OutstandingNotification,
}

/// What must happen after the sender's WRMSR to the ICR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No VM exit; the target guest's handler for `vector` runs once.
    Delivered,
    /// A trap-like APIC-write VM exit (reason 56, qualification 0x300); nothing posted.
    ApicWriteExit,
    /// No VM exit; PIR[vector] is set in the target's descriptor, but no notification: the guest sees nothing.
    PostedNotNotified,
    /// No VM exit; the notification is processed although host and guest have IF = 0 ("external-
    /// interrupt exiting" makes IF irrelevant): the vector reaches the target's virtual IRR, and the
    /// guest's handler runs once after it sets IF.
    ProcessedWhileMasked,
    /// No VM exit; posted to the sender's own descriptor and notified to its own CPU: the vector ends
    /// up pending in the sender's PIR or virtual IRR (the sender runs with interrupts disabled).
    PostedToSelf,
}

/// One self-test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub name: &'static str,
    pub icr: u64,
    pub setup: Setup,
    pub expect: Expect,
}

const fn icr(dest: u32, low: u32) -> u64 {
    (dest as u64) << 32 | low as u64
}

const fn case(name: &'static str, icr: u64, setup: Setup, expect: Expect) -> Case {
    Case {
        name,
        icr,
        setup,
        expect,
    }
}

use Expect::*;
use Setup::*;

/// Every case, in the order the sender runs them.
pub const CASES: [Case; 19] = [
    case(
        "notification processed while IF = 0",
        icr(TARGET_VAPIC_ID, 0x4D),
        TargetInterruptsMasked,
        ProcessedWhileMasked,
    ),
    case(
        "valid unicast delivers without exit",
        icr(TARGET_VAPIC_ID, 0x41),
        Normal,
        Delivered,
    ),
    case(
        "unicast to own virtual APIC ID posts to self",
        icr(SENDER_VAPIC_ID, 0x4C),
        Normal,
        PostedToSelf,
    ),
    case(
        "vector below 16 exits",
        icr(TARGET_VAPIC_ID, 0x0F),
        Normal,
        ApicWriteExit,
    ),
    case(
        "index beyond last index exits",
        icr(4, 0x42),
        Normal,
        ApicWriteExit,
    ),
    case(
        "index far beyond the table exits",
        icr(0x100, 0x42),
        Normal,
        ApicWriteExit,
    ),
    case(
        "invalid (zero) entry exits",
        icr(INVALID_ENTRY_ID, 0x43),
        Normal,
        ApicWriteExit,
    ),
    case(
        "entry with reserved bits exits",
        icr(RESERVED_BITS_ENTRY_ID, 0x43),
        Normal,
        ApicWriteExit,
    ),
    case(
        "shorthand self exits",
        icr(0, 1 << 18 | 0x44),
        Normal,
        ApicWriteExit,
    ),
    case(
        "shorthand all-excluding-self exits",
        icr(0, 3 << 18 | 0x44),
        Normal,
        ApicWriteExit,
    ),
    case(
        "logical destination exits",
        icr(TARGET_VAPIC_ID, 1 << 11 | 0x45),
        Normal,
        ApicWriteExit,
    ),
    case(
        "NMI delivery exits",
        icr(TARGET_VAPIC_ID, 4 << 8),
        Normal,
        ApicWriteExit,
    ),
    case(
        "lowest-priority delivery exits",
        icr(TARGET_VAPIC_ID, 1 << 8 | 0x46),
        Normal,
        ApicWriteExit,
    ),
    case(
        "INIT delivery exits",
        icr(TARGET_VAPIC_ID, 5 << 8 | 1 << 14),
        Normal,
        ApicWriteExit,
    ),
    case(
        "level trigger exits",
        icr(TARGET_VAPIC_ID, 1 << 15 | 1 << 14 | 0x47),
        Normal,
        ApicWriteExit,
    ),
    case(
        "delivery-status bit 12 set exits",
        icr(TARGET_VAPIC_ID, 1 << 12 | 0x4B),
        Normal,
        ApicWriteExit,
    ),
    case(
        "SN set: posted, not notified",
        icr(TARGET_VAPIC_ID, 0x48),
        SuppressNotification,
        PostedNotNotified,
    ),
    case(
        "ON set: posted, not notified",
        icr(TARGET_VAPIC_ID, 0x49),
        OutstandingNotification,
        PostedNotNotified,
    ),
    case(
        "valid unicast after suppression delivers",
        icr(TARGET_VAPIC_ID, 0x4A),
        Normal,
        Delivered,
    ),
];

impl Case {
    /// The vector field of the ICR.
    pub fn vector(&self) -> u8 {
        self.icr as u8
    }

    /// Index of the vector among the target's counters, if it is a counted vector.
    pub fn counter_index(&self) -> Option<usize> {
        let v = self.vector();
        (FIRST_COUNTED_VECTOR..FIRST_COUNTED_VECTOR + 16)
            .contains(&v)
            .then(|| (v - FIRST_COUNTED_VECTOR) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_vmx::ipi::Icr;

    /// The SDM's test, as modelled by tessera-vmx, against this table: valid entries are 0 and 1.
    fn predicted(case: &Case) -> Expect {
        let dest = (case.icr >> 32) as u32;
        let entry_valid =
            dest <= LAST_PID_INDEX as u32 && (dest == SENDER_VAPIC_ID || dest == TARGET_VAPIC_ID);
        if !Icr::ipiv_eligible(case.icr) || case.vector() < 16 || !entry_valid {
            ApicWriteExit
        } else if dest == SENDER_VAPIC_ID {
            PostedToSelf
        } else if case.setup == TargetInterruptsMasked {
            ProcessedWhileMasked
        } else if case.setup == Normal {
            Delivered
        } else {
            PostedNotNotified
        }
    }

    #[test]
    fn expectations_follow_the_pseudocode() {
        for case in CASES {
            assert_eq!(case.expect, predicted(&case), "{}", case.name);
        }
    }

    #[test]
    fn only_the_first_case_finds_the_target_masked() {
        for (i, case) in CASES.iter().enumerate() {
            assert_eq!(
                case.setup == TargetInterruptsMasked,
                i == 0,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn no_reserved_icr_bits_so_no_guest_gp() {
        for case in CASES {
            assert!(!Icr::reserved_bits_set(case.icr), "{}", case.name);
        }
    }

    #[test]
    fn delivered_and_posted_vectors_are_counted_and_distinct() {
        let mut seen = std::vec::Vec::new();
        for case in CASES.iter().filter(|c| c.expect != ApicWriteExit) {
            let index = case.counter_index().expect("counted vector");
            assert!(!seen.contains(&index), "{}", case.name);
            seen.push(index);
        }
    }
}
