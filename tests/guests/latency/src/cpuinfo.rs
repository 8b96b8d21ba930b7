//! What the records say about the machine: the CPU's brand string and the TSC frequency with its
//! source (CPUID leaf 15H exactly, leaf 16H's base frequency nominally, or unknown).

use tessera_guest::cpu::cpuid;

/// The TSC frequency and where it came from.
pub struct TscFrequency {
    pub hz: u64,
    pub source: &'static str,
}

/// CPUID 80000002H-80000004H, trimmed (at most 48 bytes).
pub fn brand(out: &mut [u8; 48]) -> &str {
    let [max, ..] = cpuid(0x8000_0000, 0);
    if max < 0x8000_0004 {
        return "unknown";
    }
    for (index, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        for (word, value) in cpuid(leaf, 0).iter().enumerate() {
            let at = index * 16 + word * 4;
            out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
    }
    let text = core::str::from_utf8(out).unwrap_or("unknown");
    text.trim_matches(|c: char| c == '\0' || c == ' ')
}

/// The TSC frequency from CPUID.
pub fn tsc_frequency() -> TscFrequency {
    let [max, ..] = cpuid(0, 0);
    if max >= 0x15 {
        let [denominator, numerator, crystal_hz, _] = cpuid(0x15, 0);
        if denominator != 0 && numerator != 0 && crystal_hz != 0 {
            let hz = u64::from(crystal_hz) * u64::from(numerator) / u64::from(denominator);
            return TscFrequency {
                hz,
                source: "cpuid-15h",
            };
        }
    }
    if max >= 0x16 {
        let [base_mhz, ..] = cpuid(0x16, 0);
        if base_mhz != 0 {
            let hz = u64::from(base_mhz) * 1_000_000;
            return TscFrequency {
                hz,
                source: "cpuid-16h-base",
            };
        }
    }
    TscFrequency {
        hz: 0,
        source: "unknown",
    }
}
