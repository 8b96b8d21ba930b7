//! An executable model of the processor's IPI virtualization (SDM Vol. 3C, "IPI virtualization"
//! pseudocode; see docs `ipiv.md` section 4), used by host tests against the planned tables.
//!
//! The model works on raw 64-bit PID-pointer entries exactly as the processor reads them, so the
//! entry encoding in [`entry_value`] is tested along with the table contents.

use crate::plan::PidTable;

/// Bit 0 of a PID-pointer entry: valid.
pub const ENTRY_VALID: u64 = 1;

/// What a guest write to the x2APIC ICR (MSR 0x830) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcrWrite {
    /// Reserved bits set: #GP, nothing else happens.
    GeneralProtection,
    /// Not a physical, fixed, edge, no-shorthand IPI: APIC-write VM exit (qualification 0x300).
    ApicWriteExit,
    /// Eligible for IPI virtualization with this vector and virtual APIC ID.
    Virtualize { vector: u8, apic_id: u32 },
}

/// Outcome of virtualizing one IPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// APIC-write VM exit: the hypervisor sees the ICR value.
    ApicWriteExit,
    /// PIR bit `vector` set in the descriptor at `pid_address` (and a notification sent).
    Posted { pid_address: u64, vector: u8 },
}

/// Classifies an x2APIC ICR value (SDM: #GP on bits 31:20, 17:16 or 13; IPIv only when shorthand,
/// trigger mode, bit 12, destination mode and delivery mode are all zero).
pub fn classify_x2apic_icr(icr: u64) -> IcrWrite {
    const RESERVED: u64 = 0xFFF0_0000 | 0x0003_0000 | (1 << 13);
    const MUST_BE_ZERO: u64 = (0b11 << 18) | (1 << 15) | (1 << 12) | (1 << 11) | (0b111 << 8);
    if icr & RESERVED != 0 {
        IcrWrite::GeneralProtection
    } else if icr & MUST_BE_ZERO != 0 {
        IcrWrite::ApicWriteExit
    } else {
        IcrWrite::Virtualize {
            vector: icr as u8,
            apic_id: (icr >> 32) as u32,
        }
    }
}

/// The IPIv pseudocode: vector `vector` to virtual APIC ID `apic_id` through a table whose raw
/// entries are `entry(T)` for `T <= last_index`, on a processor with `maxphyaddr` address bits.
pub fn virtualize(
    entry: impl Fn(u16) -> u64,
    last_index: u16,
    maxphyaddr: u32,
    vector: u8,
    apic_id: u32,
) -> Outcome {
    if vector < 16 || apic_id > u32::from(last_index) {
        return Outcome::ApicWriteExit;
    }
    let value = entry(apic_id as u16);
    let above_maxphyaddr = maxphyaddr < 64 && value >> maxphyaddr != 0;
    if above_maxphyaddr || value & 0x3F != ENTRY_VALID {
        return Outcome::ApicWriteExit;
    }
    Outcome::Posted {
        pid_address: value & !0x3F,
        vector,
    }
}

/// The raw value the kernel writes into entry `index` of `table`, given where each vCPU's
/// posted-interrupt descriptor lives (64-byte aligned): `address | 1`, or 0 for an empty entry.
pub fn entry_value(
    table: &PidTable<'_>,
    index: u16,
    pid_address: impl Fn(crate::plan::VcpuRef) -> u64,
) -> u64 {
    match table.entries.get(usize::from(index)).copied().flatten() {
        Some(target) => pid_address(target) | ENTRY_VALID,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_physical_edge_unicast_is_virtualized() {
        let icr = (7u64 << 32) | 0x40;
        assert_eq!(
            classify_x2apic_icr(icr),
            IcrWrite::Virtualize {
                vector: 0x40,
                apic_id: 7
            }
        );
    }

    #[test]
    fn shorthand_logical_level_nmi_exit() {
        for bits in [1u64 << 18, 1 << 11, 1 << 15, 0b100 << 8, 1 << 12] {
            assert_eq!(classify_x2apic_icr(bits | 0x40), IcrWrite::ApicWriteExit);
        }
    }

    #[test]
    fn reserved_bits_fault() {
        for bits in [1u64 << 13, 1 << 16, 1 << 20] {
            assert_eq!(classify_x2apic_icr(bits), IcrWrite::GeneralProtection);
        }
    }

    #[test]
    fn table_lookup_follows_the_pseudocode() {
        let entries = [0x1000 | ENTRY_VALID, 0, 0x2000 | 0x3];
        let entry = |t: u16| entries[usize::from(t)];
        let posted = Outcome::Posted {
            pid_address: 0x1000,
            vector: 16,
        };
        assert_eq!(virtualize(entry, 2, 46, 16, 0), posted);
        assert_eq!(virtualize(entry, 2, 46, 15, 0), Outcome::ApicWriteExit);
        assert_eq!(virtualize(entry, 2, 46, 16, 1), Outcome::ApicWriteExit);
        assert_eq!(virtualize(entry, 2, 46, 16, 2), Outcome::ApicWriteExit);
        assert_eq!(virtualize(entry, 2, 46, 16, 3), Outcome::ApicWriteExit);
        let high = |_| (1u64 << 46) | ENTRY_VALID;
        assert_eq!(virtualize(high, 0, 46, 16, 0), Outcome::ApicWriteExit);
    }
}
