//! The frequencies a guest is told (CPUID leaves 15H and 16H, SDM Vol. 2A "CPUID"; the boot-info
//! block): the TSC's, and the local APIC timer's, which Tessera defines as the core crystal clock
//! of leaf 15H. The timer counts once every `tsc_per_count` TSC cycles at divide 1: 1 for every
//! TSC up to 4.29 GHz (leaf 15H ECX is 32 bits), more above.

use crate::cpuid_result::CpuidResult;

/// The TSC and APIC timer frequencies of a machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerFrequency {
    pub tsc_hz: u64,
    /// TSC cycles per APIC timer count at divide 1.
    pub tsc_per_count: u64,
}

impl TimerFrequency {
    /// The frequencies for a TSC of `tsc_hz` (at least 1 Hz).
    pub const fn from_tsc_hz(tsc_hz: u64) -> Self {
        let tsc_hz = if tsc_hz == 0 { 1 } else { tsc_hz };
        let per_count = tsc_hz.div_ceil(u32::MAX as u64);
        TimerFrequency {
            tsc_hz,
            tsc_per_count: if per_count == 0 { 1 } else { per_count },
        }
    }

    /// The TSC frequency a CPU reports in leaf 15H (crystal Hz x EBX / EAX), or from leaf 16H's
    /// base MHz when leaf 15H gives no crystal frequency; `None` when neither says.
    pub const fn from_host_leaves(leaf_15: CpuidResult, leaf_16: CpuidResult) -> Option<Self> {
        let crystal_hz = leaf_15.ecx as u64;
        if crystal_hz != 0 && leaf_15.eax != 0 && leaf_15.ebx != 0 {
            let hz = crystal_hz * leaf_15.ebx as u64 / leaf_15.eax as u64;
            return Some(Self::from_tsc_hz(hz));
        }
        let base_mhz = (leaf_16.eax & 0xFFFF) as u64;
        if base_mhz == 0 {
            return None;
        }
        Some(Self::from_tsc_hz(base_mhz * 1_000_000))
    }

    /// The local APIC timer's frequency at divide 1 (the crystal clock of leaf 15H).
    pub const fn apic_timer_hz(&self) -> u64 {
        self.tsc_hz / self.tsc_per_count
    }

    /// Leaf 15H: EAX = 1 (denominator), EBX = TSC cycles per crystal cycle, ECX = crystal Hz.
    pub const fn leaf_15(&self) -> CpuidResult {
        CpuidResult {
            eax: 1,
            ebx: self.tsc_per_count as u32,
            ecx: self.apic_timer_hz() as u32,
            edx: 0,
        }
    }

    /// Leaf 16H: base and maximum frequency = the TSC's, bus (reference) frequency = the crystal's,
    /// in MHz (16 bits each).
    pub const fn leaf_16(&self) -> CpuidResult {
        CpuidResult {
            eax: mhz(self.tsc_hz),
            ebx: mhz(self.tsc_hz),
            ecx: mhz(self.apic_timer_hz()),
            edx: 0,
        }
    }
}

/// `hz` in whole MHz, saturated to the 16 bits leaf 16H has.
const fn mhz(hz: u64) -> u32 {
    let mhz = hz / 1_000_000;
    if mhz > 0xFFFF {
        0xFFFF
    } else {
        mhz as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulator_tsc_counts_the_apic_timer_one_to_one() {
        let f = TimerFrequency::from_tsc_hz(50_000_000);
        assert_eq!((f.tsc_per_count, f.apic_timer_hz()), (1, 50_000_000));
        let l15 = f.leaf_15();
        assert_eq!((l15.eax, l15.ebx, l15.ecx), (1, 1, 50_000_000));
        let l16 = f.leaf_16();
        assert_eq!((l16.eax, l16.ebx, l16.ecx), (50, 50, 50));
    }

    #[test]
    fn a_tsc_beyond_32_bits_of_hz_divides_the_crystal() {
        let f = TimerFrequency::from_tsc_hz(5_200_000_000);
        assert_eq!(f.tsc_per_count, 2);
        let l15 = f.leaf_15();
        let reported = u64::from(l15.ecx) * u64::from(l15.ebx) / u64::from(l15.eax);
        assert_eq!(reported, 5_200_000_000);
    }

    #[test]
    fn host_leaves_give_the_tsc_frequency() {
        // Sapphire Rapids: 25 MHz crystal, TSC ratio 176/2 = 2.2 GHz.
        let leaf_15 = CpuidResult {
            eax: 2,
            ebx: 176,
            ecx: 25_000_000,
            edx: 0,
        };
        let from_15 = TimerFrequency::from_host_leaves(leaf_15, CpuidResult::default());
        assert_eq!(from_15.map(|f| f.tsc_hz), Some(2_200_000_000));
        let leaf_16 = CpuidResult {
            eax: 2100,
            ..CpuidResult::default()
        };
        let from_16 = TimerFrequency::from_host_leaves(CpuidResult::default(), leaf_16);
        assert_eq!(from_16.map(|f| f.tsc_hz), Some(2_100_000_000));
        let none = TimerFrequency::from_host_leaves(CpuidResult::default(), CpuidResult::default());
        assert_eq!(none, None);
    }
}
