//! The CPUID table against the code that backs it: the MSR policy, the exit handling, the XCR0
//! components, and `docs/cpuid.md`.

use super::features::{Backing, Register, FEATURES, FEATURE_REGISTERS};
use super::xsave::{partition_xcr0, XCR0_OFFERED};
use super::*;
use crate::exit::{handling, Handling};
use crate::msr_policy::{on_rdmsr, on_wrmsr, MsrAction, MsrContext};
use std::string::String;
use std::vec::Vec;

const VCPU: VcpuIdentity = VcpuIdentity {
    virtual_apic_id: 0x13,
    vcpu_index: 1,
    partition_index: 2,
};

/// A guest with every control and component Tessera can give and CR4.OSXSAVE and CR4.PKE set.
fn everything() -> GuestCpu {
    GuestCpu {
        vcpu: VCPU,
        cr4: 1 << 18 | 1 << 22,
        secondary: SecondaryProcBased::all(),
        xcr0_allowed: XCR0_OFFERED,
        frequency: TimerFrequency::from_tsc_hz(50_000_000),
    }
}

fn all_ones(_: u32, _: u32) -> CpuidResult {
    CpuidResult {
        eax: u32::MAX,
        ebx: u32::MAX,
        ecx: u32::MAX,
        edx: u32::MAX,
    }
}

const ALL_REGISTERS: [Register; 4] = [Register::Eax, Register::Ebx, Register::Ecx, Register::Edx];

/// (leaf, subleaf, register, bit, name, the feature's MSRs).
type FeatureMsrs = (u32, u32, Register, u8, &'static str, &'static [u32]);

/// Architectural features whose MSRs Intel defines (SDM Vol. 4): a guest that sees the bit may
/// use the MSR, so the bit may be passed only if the MSR policy serves every one of them.
const FEATURE_MSRS: &[FeatureMsrs] = &[
    (1, 0, Register::Ecx, 2, "DTES64", &[0x600]),
    (1, 0, Register::Ecx, 4, "DS-CPL", &[0x600]),
    (1, 0, Register::Ecx, 5, "VMX", &[0x3A, 0x480]),
    (1, 0, Register::Ecx, 7, "EIST", &[0x1A0, 0x198, 0x199]),
    (1, 0, Register::Ecx, 8, "TM2", &[0x19B, 0x19C]),
    (1, 0, Register::Ecx, 11, "SDBG", &[0xC80]),
    (1, 0, Register::Ecx, 14, "xTPR", &[0x1A0]),
    (1, 0, Register::Ecx, 15, "PDCM", &[0x345]),
    (1, 0, Register::Ecx, 18, "DCA", &[0x1F8]),
    (1, 0, Register::Edx, 7, "MCE", &[0x179, 0x17A]),
    (1, 0, Register::Edx, 11, "SEP", &[0x174, 0x175, 0x176]),
    (1, 0, Register::Edx, 12, "MTRR", &[0xFE, 0x2FF, 0x200]),
    (1, 0, Register::Edx, 14, "MCA", &[0x179, 0x17A, 0x400]),
    (1, 0, Register::Edx, 21, "DS", &[0x600]),
    (1, 0, Register::Edx, 22, "ACPI", &[0x19C, 0x1A2]),
    (1, 0, Register::Edx, 29, "TM", &[0x19C]),
    (6, 0, Register::Eax, 0, "digital thermal sensor", &[0x19C]),
    (6, 0, Register::Eax, 7, "HWP", &[0x770, 0x771]),
    (6, 0, Register::Ecx, 0, "APERF/MPERF", &[0xE7, 0xE8]),
    (6, 0, Register::Ecx, 3, "energy-performance bias", &[0x1B0]),
    (7, 0, Register::Ebx, 1, "TSC_ADJUST", &[0x3B]),
    (7, 0, Register::Ebx, 12, "RDT monitoring", &[0xC8D, 0xC8E]),
    (7, 0, Register::Ebx, 14, "MPX", &[0xD90]),
    (7, 0, Register::Ebx, 15, "RDT allocation", &[0xC8F]),
    (7, 0, Register::Ebx, 25, "Processor Trace", &[0x570]),
    (7, 0, Register::Ecx, 5, "WAITPKG", &[0xE1]),
    (7, 0, Register::Ecx, 7, "CET shadow stacks", &[0x6A0, 0x6A2]),
    (7, 0, Register::Ecx, 31, "PKS", &[0x6E1]),
    (7, 0, Register::Edx, 5, "UINTR", &[0x985]),
    (7, 0, Register::Edx, 20, "CET IBT", &[0x6A0, 0x6A2]),
    (7, 0, Register::Edx, 26, "IBRS/IBPB", &[0x48, 0x49]),
    (7, 0, Register::Edx, 27, "STIBP", &[0x48]),
    (7, 0, Register::Edx, 28, "L1D_FLUSH", &[0x10B]),
    (7, 0, Register::Edx, 29, "ARCH_CAPABILITIES", &[0x10A]),
    (7, 0, Register::Edx, 30, "CORE_CAPABILITIES", &[0xCF]),
    (7, 0, Register::Edx, 31, "SSBD", &[0x48]),
    (0xD, 1, Register::Eax, 3, "XSAVES", &[0xDA0]),
    (0xD, 1, Register::Eax, 4, "XFD", &[0x1C4, 0x1C5]),
    (
        0x8000_0001,
        0,
        Register::Edx,
        11,
        "SYSCALL",
        &[0xC000_0081, 0xC000_0082, 0xC000_0084],
    ),
];

const CTX: MsrContext = MsrContext {
    vcpu_index: 0,
    guest_efer: 0xD01,
};

fn served(msr: u32) -> bool {
    on_rdmsr(msr, &CTX) != MsrAction::Deny || on_wrmsr(msr, 0, &CTX) != MsrAction::Deny
}

fn guest_bit(leaf: u32, subleaf: u32, register: Register, bit: u8) -> bool {
    let answer = emulate(leaf, subleaf, &all_ones, &everything());
    answer.get(register) & (1 << bit) != 0
}

/// The features of [`FEATURE_MSRS`] that `passed` says a guest sees although the MSR policy
/// denies one of their MSRs, as (name, MSR).
fn passed_but_denied(passed: impl Fn(u32, u32, Register, u8) -> bool) -> Vec<(&'static str, u32)> {
    let mut found = Vec::new();
    for &(leaf, subleaf, register, bit, name, msrs) in FEATURE_MSRS {
        if passed(leaf, subleaf, register, bit) {
            found.extend(
                msrs.iter()
                    .filter(|&&msr| !served(msr))
                    .map(|&msr| (name, msr)),
            );
        }
    }
    found
}

/// No listed feature whose MSRs are denied is passed. Today the table passes none of them, so
/// the check is also run with every bit passed, where it must name them: it would catch a table
/// that passed one.
#[test]
fn a_feature_is_passed_only_when_the_msr_policy_serves_its_msrs() {
    assert_eq!(passed_but_denied(guest_bit), []);
    let everything_passed = passed_but_denied(|_, _, _, _| true);
    for expected in [
        ("DTES64", 0x600),
        ("VMX", 0x3A),
        ("TSC_ADJUST", 0x3B),
        ("SYSCALL", 0xC000_0081),
    ] {
        assert!(everything_passed.contains(&expected), "{expected:?}");
    }
    assert!(!guest_bit(1, 0, Register::Ecx, 7), "EIST is hidden");
}

#[test]
fn every_backing_in_the_table_exists() {
    for f in FEATURES {
        match f.backing {
            Backing::Msrs(msrs) => {
                for &msr in msrs {
                    assert!(served(msr), "{}: MSR {msr:#x} is denied", f.name);
                }
            }
            Backing::Exit(reasons) => {
                for &reason in reasons {
                    assert_ne!(handling(reason), Handling::Stop, "{}: {reason:?}", f.name);
                }
            }
            Backing::ControlledExit(_, reason) => {
                assert_ne!(handling(reason), Handling::Stop, "{}: {reason:?}", f.name);
            }
            Backing::XsaveState(components) => {
                assert_eq!(
                    components & !XCR0_OFFERED,
                    0,
                    "{}: components not offered",
                    f.name
                );
            }
            _ => {}
        }
    }
}

#[test]
fn the_table_has_each_bit_once_and_only_in_feature_registers() {
    for (i, f) in FEATURES.iter().enumerate() {
        let key = (f.leaf, f.subleaf, f.register);
        assert!(
            FEATURE_REGISTERS.contains(&key),
            "{} is not in a feature register",
            f.name
        );
        for g in &FEATURES[i + 1..] {
            assert!(
                (key, f.bit) != ((g.leaf, g.subleaf, g.register), g.bit),
                "{} twice",
                f.name
            );
        }
    }
}

/// Which registers of which leaves an all-ones host can put a 1 into, other than table bits.
#[test]
fn nothing_outside_the_table_passes_from_an_all_ones_host() {
    let leaves = (0..=0x24).chain(0x8000_0000..=0x8000_0008);
    for leaf in leaves {
        for subleaf in 0..4 {
            let answer = emulate(leaf, subleaf, &all_ones, &everything());
            for register in ALL_REGISTERS {
                let feature_subleaf = if matches!(leaf, 7 | 0xD) { subleaf } else { 0 };
                let value = answer.get(register);
                if FEATURE_REGISTERS.contains(&(leaf, feature_subleaf, register)) {
                    let table: u32 = features::listed(leaf, feature_subleaf, register)
                        .fold(0, |bits, f| bits | 1 << f.bit);
                    assert_eq!(value & !table, 0, "{leaf:#x}.{subleaf} {register:?}");
                } else if value != 0 {
                    assert!(
                        value_register(leaf, subleaf, register),
                        "{leaf:#x}.{subleaf} {register:?} = {value:#x} is neither in the table nor a value"
                    );
                }
            }
        }
    }
}

/// Registers that carry values, not feature bits (each named in docs/cpuid.md).
fn value_register(leaf: u32, subleaf: u32, register: Register) -> bool {
    INFORMATION_LEAVES.contains(&leaf)
        || matches!(
            (leaf, subleaf, register),
            (1, _, Register::Eax | Register::Ebx)
                | (7, 0, Register::Eax)
                | (0xB | 0x1F, _, _)
                | (0xD, _, _)
                | (0x15 | 0x16, _, _)
                | (0x8000_0008, _, Register::Eax)
        )
}

#[test]
fn performance_monitoring_mca_and_power_leaves_read_zero() {
    for leaf in [5, 0xA, 0xF, 0x10, 0x12, 0x14, 0x1B, 0x1C] {
        let answer = emulate(leaf, 0, &all_ones, &everything());
        assert_eq!(answer, CpuidResult::default(), "leaf {leaf:#x}");
    }
    let leaf_6 = emulate(6, 0, &all_ones, &everything());
    assert_eq!(
        leaf_6,
        CpuidResult {
            eax: LEAF6_EAX_ARAT,
            ..CpuidResult::default()
        }
    );
}

#[test]
fn os_bits_follow_the_guest_cr4_and_controls_gate_their_instructions() {
    let mut guest = everything();
    guest.cr4 = 0;
    assert!(
        !bit_with(&guest, 1, Register::Ecx, 27),
        "OSXSAVE clear before the guest sets it"
    );
    assert!(!bit_with(&guest, 7, Register::Ecx, 4), "OSPKE");
    guest.cr4 = 1 << 18;
    assert!(bit_with(&guest, 1, Register::Ecx, 27));
    guest.secondary = SecondaryProcBased::empty();
    assert!(
        !bit_with(&guest, 0x8000_0001, Register::Edx, 27),
        "RDTSCP needs its control"
    );
    assert!(
        !bit_with(&guest, 0x8000_0008, Register::Ebx, 9),
        "WBNOINVD needs WBINVD exiting"
    );
    guest.xcr0_allowed = partition_xcr0(0b111);
    assert!(bit_with(&guest, 1, Register::Ecx, 28), "AVX");
    assert!(
        !bit_with(&guest, 7, Register::Ebx, 16),
        "AVX512F without its components"
    );
}

fn bit_with(guest: &GuestCpu, leaf: u32, register: Register, bit: u8) -> bool {
    emulate(leaf, 0, &all_ones, guest).get(register) & (1 << bit) != 0
}

#[test]
fn leaf_1_shows_the_virtual_apic_id_and_states_tessera_features() {
    let host = |_: u32, _: u32| CpuidResult {
        eax: 0x806F8,
        ebx: 0x0340_0800,
        ecx: 0x7FFA_F3BF | 1 << 5,
        edx: 0xBFEB_FBFF,
    };
    let guest = emulate(1, 0, &host, &everything());
    assert_eq!(guest.ebx, 0x1340_0800);
    assert_eq!(guest.eax, 0x806F8);
    assert_eq!(guest.ecx & (1 << 5), 0, "VMX hidden");
    for bit in [21, 24, 31] {
        assert_ne!(
            guest.ecx & (1 << bit),
            0,
            "x2APIC, TSC-deadline, hypervisor"
        );
    }
    assert_eq!(
        guest.edx & (1 << 12 | 1 << 7 | 1 << 14),
        0,
        "MTRR, MCE, MCA hidden"
    );
}

#[test]
fn topology_leaves_report_the_x2apic_id() {
    let host = |_: u32, _: u32| CpuidResult {
        eax: 1,
        ebx: 2,
        ecx: 0x100,
        edx: 3,
    };
    let answer = emulate(0xB, 0, &host, &everything());
    assert_eq!(
        answer,
        CpuidResult {
            edx: 0x13,
            ..host(0xB, 0)
        }
    );
    assert_eq!(emulate(0x1F, 1, &host, &everything()).edx, 0x13);
}

#[test]
fn hypervisor_leaves_name_tessera_and_the_vcpu() {
    let leaf = emulate(LEAF_HYPERVISOR, 0, &all_ones, &everything());
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&leaf.ebx.to_le_bytes());
    bytes[4..8].copy_from_slice(&leaf.ecx.to_le_bytes());
    bytes[8..].copy_from_slice(&leaf.edx.to_le_bytes());
    assert_eq!(&bytes, b"TesseraPartn");
    assert_eq!(leaf.eax, LEAF_TESSERA_IDENTITY);
    let me = emulate(LEAF_TESSERA_IDENTITY, 0, &all_ones, &everything());
    assert_eq!((me.eax, me.ebx, me.ecx), (1, 2, 0x13));
    let beyond = emulate(0x4000_0005, 0, &all_ones, &everything());
    assert_eq!(beyond, CpuidResult::default());
}

#[test]
fn timer_leaves_state_the_frequencies() {
    let guest = everything();
    assert_eq!(emulate(0x15, 0, &all_ones, &guest).ecx, 50_000_000);
    assert_eq!(emulate(0x16, 0, &all_ones, &guest).eax, 50);
    assert_eq!(timer_leaf(1, &guest.frequency), None);
}

#[test]
fn vendor_leaf_passes_through() {
    let host = |_: u32, _: u32| CpuidResult {
        eax: 0x20,
        ebx: 0x756E_6547,
        ecx: 0x6C65_746E,
        edx: 0x4965_6E69,
    };
    assert_eq!(emulate(0, 0, &host, &everything()), host(0, 0));
}

const DOC_START: &str =
    "<!-- cpuid-table: generated by tessera_vmx::cpuid::doc, checked by its tests -->\n";
const DOC_END: &str = "<!-- cpuid-table end -->";

#[test]
fn docs_cpuid_md_shows_this_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cpuid.md");
    let text = std::fs::read_to_string(path).expect("docs/cpuid.md");
    let mut generated = String::new();
    doc::write_markdown(&mut generated).unwrap();
    let (before, rest) = text.split_once(DOC_START).expect("start marker");
    let (_, after) = rest.split_once(DOC_END).expect("end marker");
    let expected = [before, DOC_START, &generated, DOC_END, after].concat();
    if std::env::var_os("TESSERA_BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
        return;
    }
    let differing: Vec<_> = expected
        .lines()
        .zip(text.lines())
        .filter(|(a, b)| a != b)
        .take(3)
        .collect();
    assert!(
        expected == text,
        "docs/cpuid.md is out of date (first differences, expected vs file: {differing:?}); \
         hint: TESSERA_BLESS=1 cargo test -p tessera-vmx cpuid rewrites it"
    );
}
