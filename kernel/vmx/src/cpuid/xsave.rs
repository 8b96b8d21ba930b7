//! XSAVE for guests (SDM Vol. 1 13.3 "Enabling the XSAVE Feature Set", Vol. 2B "XSETBV"): the state
//! components a partition may enable in XCR0, the check of every XSETBV (which always exits), and
//! CPUID leaf 0DH as the guest sees it.
//!
//! XCR0 is not part of the VMCS. Each CPU runs one vCPU and the hypervisor never uses x87, SSE or
//! wider registers (its target has no floating point), so Tessera loads the guest's checked value
//! into the CPU's XCR0 at XSETBV and keeps it there across exits: the CPU's XCR0 is always the
//! guest's, the documented equivalent of loading it at every entry.

use super::CpuidResult;

pub const XCR0_X87: u64 = 1 << 0;
pub const XCR0_SSE: u64 = 1 << 1;
pub const XCR0_AVX: u64 = 1 << 2;
/// Opmask, ZMM_Hi256 and Hi16_ZMM: enabled together or not at all.
pub const XCR0_AVX512: u64 = 0b111 << 5;
pub const XCR0_PKRU: u64 = 1 << 9;
/// XTILECFG and XTILEDATA: enabled together or not at all.
pub const XCR0_AMX: u64 = 0b11 << 17;

/// Components a partition may enable when the host has them. Not offered: MPX (bits 3-4, its
/// IA32_BNDCFGS is not granted) and every supervisor component (IA32_XSS stays 0).
pub const XCR0_OFFERED: u64 = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU | XCR0_AMX;

/// What the guest's XSETBV may enable: the host's components Tessera offers.
pub const fn partition_xcr0(host_supported: u64) -> u64 {
    host_supported & XCR0_OFFERED
}

/// Why an XSETBV raises #GP(0) (each as bare metal would, plus components not offered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XsetbvFault {
    /// Executed above CPL 0.
    NotCpl0,
    /// ECX names an extended control register other than XCR0.
    NotXcr0 { index: u32 },
    /// A bit the partition may not enable.
    NotOffered { bits: u64 },
    /// x87 state must stay enabled.
    X87Cleared,
    /// AVX without SSE, AVX-512 without AVX or partly, AMX partly.
    Inconsistent,
}

/// The XCR0 value to load for `XSETBV` with ECX = `index`, EDX:EAX = `value` at `cpl`, or the
/// reason it faults.
pub fn check_xsetbv(cpl: u8, index: u32, value: u64, allowed: u64) -> Result<u64, XsetbvFault> {
    if cpl != 0 {
        return Err(XsetbvFault::NotCpl0);
    }
    if index != 0 {
        return Err(XsetbvFault::NotXcr0 { index });
    }
    if value & !allowed != 0 {
        return Err(XsetbvFault::NotOffered {
            bits: value & !allowed,
        });
    }
    if value & XCR0_X87 == 0 {
        return Err(XsetbvFault::X87Cleared);
    }
    let avx512 = value & XCR0_AVX512;
    let amx = value & XCR0_AMX;
    let avx_without_sse = value & XCR0_AVX != 0 && value & XCR0_SSE == 0;
    let avx512_wrong = avx512 != 0 && (avx512 != XCR0_AVX512 || value & XCR0_AVX == 0);
    if avx_without_sse || avx512_wrong || (amx != 0 && amx != XCR0_AMX) {
        return Err(XsetbvFault::Inconsistent);
    }
    Ok(value)
}

/// Leaf 0DH `subleaf` as the guest sees it, from the host's answers (`host(0xD, i)`) and the
/// partition's components. Subleaf 0 EBX (size for the XCR0 in force) is the host's: the CPU's
/// XCR0 is the guest's. Subleaf 1 EAX is the host's here, filtered by the feature table after
/// (XSAVES and XFD hidden); its ECX:EDX (IA32_XSS components) are 0: IA32_XSS is not granted.
pub fn leaf_d(subleaf: u32, allowed: u64, host: &dyn Fn(u32, u32) -> CpuidResult) -> CpuidResult {
    let own = host(0xD, subleaf);
    match subleaf {
        0 => CpuidResult {
            eax: allowed as u32,
            ebx: own.ebx,
            ecx: area_bytes(allowed, host),
            edx: (allowed >> 32) as u32,
        },
        1 => CpuidResult {
            eax: own.eax,
            ebx: own.ebx,
            ecx: 0,
            edx: 0,
        },
        2..=63 if allowed & (1 << subleaf) != 0 => own,
        _ => CpuidResult::default(),
    }
}

/// Size of a standard-format XSAVE area holding every component of `components`: the legacy
/// area and header (576 bytes), or the end of the last component (offset EBX + size EAX of its
/// subleaf).
fn area_bytes(components: u64, host: &dyn Fn(u32, u32) -> CpuidResult) -> u32 {
    (2..64)
        .filter(|i| components & (1 << i) != 0)
        .map(|i| {
            let c = host(0xD, i);
            c.ebx.saturating_add(c.eax)
        })
        .fold(576, u32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = XCR0_OFFERED;

    #[test]
    fn good_values_load_and_bad_ones_fault() {
        assert_eq!(check_xsetbv(0, 0, 0b111, ALL), Ok(0b111));
        assert_eq!(check_xsetbv(0, 0, 0b1110_0111, ALL), Ok(0b1110_0111));
        assert_eq!(check_xsetbv(3, 0, 0b111, ALL), Err(XsetbvFault::NotCpl0));
        assert_eq!(
            check_xsetbv(0, 1, 0b11, ALL),
            Err(XsetbvFault::NotXcr0 { index: 1 })
        );
        assert_eq!(check_xsetbv(0, 0, 0b110, ALL), Err(XsetbvFault::X87Cleared));
        assert_eq!(
            check_xsetbv(0, 0, 0b101, ALL),
            Err(XsetbvFault::Inconsistent)
        );
        assert_eq!(
            check_xsetbv(0, 0, 0b0110_0111, ALL),
            Err(XsetbvFault::Inconsistent),
            "AVX-512 partly"
        );
        assert_eq!(
            check_xsetbv(0, 0, 0b1110_0011, ALL),
            Err(XsetbvFault::Inconsistent),
            "AVX-512 without AVX"
        );
        assert_eq!(
            check_xsetbv(0, 0, 0b11 | 1 << 17, ALL),
            Err(XsetbvFault::Inconsistent),
            "XTILECFG without XTILEDATA"
        );
        assert_eq!(
            check_xsetbv(0, 0, 0b11 | 0b11 << 3, ALL),
            Err(XsetbvFault::NotOffered { bits: 0b11 << 3 }),
            "MPX"
        );
    }

    #[test]
    fn components_the_host_lacks_are_refused() {
        let allowed = partition_xcr0(0b111 | 0b11 << 3);
        assert_eq!(allowed, 0b111);
        assert_eq!(
            check_xsetbv(0, 0, 0b1110_0111, allowed),
            Err(XsetbvFault::NotOffered { bits: 0b1110_0000 })
        );
    }

    #[test]
    fn leaf_d_states_the_partition_components_and_their_area() {
        let host = |_: u32, subleaf: u32| match subleaf {
            0 => CpuidResult {
                eax: 0x6_02FF,
                ebx: 832,
                ecx: 11008,
                edx: 0,
            },
            1 => CpuidResult {
                eax: 0x1F,
                ebx: 900,
                ecx: 0x1900,
                edx: 0,
            },
            2 => CpuidResult {
                eax: 256,
                ebx: 576,
                ..CpuidResult::default()
            },
            3 => CpuidResult {
                eax: 64,
                ebx: 960,
                ..CpuidResult::default()
            },
            _ => CpuidResult::default(),
        };
        let allowed = partition_xcr0(0x6_02FF) & 0b111;
        let leaf = leaf_d(0, allowed, &host);
        assert_eq!(
            (leaf.eax, leaf.ebx, leaf.ecx, leaf.edx),
            (0b111, 832, 832, 0)
        );
        let sub1 = leaf_d(1, allowed, &host);
        assert_eq!(
            (sub1.ebx, sub1.ecx, sub1.edx),
            (900, 0, 0),
            "IA32_XSS components hidden"
        );
        assert_eq!(leaf_d(2, allowed, &host).eax, 256);
        assert_eq!(
            leaf_d(3, allowed, &host),
            CpuidResult::default(),
            "MPX hidden"
        );
    }
}
