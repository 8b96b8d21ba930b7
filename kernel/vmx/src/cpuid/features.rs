//! Every CPUID feature bit a guest may see, and what backs it. A bit not listed here is 0 in the
//! guest's answer whatever the host says; a listed bit is passed when the host has it and its
//! backing is in place (a control Tessera set, the guest's own CR4 bit), or stated by Tessera.
//! `docs/cpuid.md` is this table rendered (`doc::markdown`), checked by a host test.

use super::xsave::{XCR0_AMX, XCR0_AVX, XCR0_AVX512, XCR0_PKRU};
use crate::controls::SecondaryProcBased as S;
use crate::exit::ExitReason;
use crate::msr;
use crate::msr::IA32_TSC_DEADLINE;

/// A CPUID output register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    Eax,
    Ebx,
    Ecx,
    Edx,
}

impl Register {
    pub const fn name(self) -> &'static str {
        match self {
            Register::Eax => "EAX",
            Register::Ebx => "EBX",
            Register::Ecx => "ECX",
            Register::Edx => "EDX",
        }
    }
}

/// What makes a feature safe to offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Runs in VMX non-root operation without an exit; its state is the guest's own (registers,
    /// the VMCS guest state, paging it controls) on a CPU no other partition uses.
    Native,
    /// Describes the processor (no instruction or state of its own).
    Information,
    /// Instructions whose registers are XSAVE state components (XCR0 bits) the guest enables with
    /// XSETBV, which exits and is checked against the partition's components.
    XsaveState(u64),
    /// Instructions the processor executes only with this secondary control set (#UD without
    /// it): passed only when Tessera set the control.
    Control(S),
    /// Instructions that exit when this secondary control is set, handled by Tessera: passed
    /// only when Tessera set the control.
    ControlledExit(S, ExitReason),
    /// Instructions that always exit, handled by Tessera (`exit::handling`).
    Exit(&'static [ExitReason]),
    /// MSRs the MSR policy serves (emulated, or #GP as on bare metal), never denied.
    Msrs(&'static [u32]),
    /// Reflects the guest's own CR4 bit (the answer changes as the guest sets it).
    GuestCr4(u8),
}

/// One feature bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    pub leaf: u32,
    pub subleaf: u32,
    pub register: Register,
    pub bit: u8,
    pub name: &'static str,
    /// Set whatever the host says (Tessera provides the feature itself).
    pub stated: bool,
    pub backing: Backing,
}

use Backing::*;
use Register::*;

const fn f(
    leaf: u32,
    register: Register,
    bit: u8,
    name: &'static str,
    backing: Backing,
) -> Feature {
    Feature {
        leaf,
        subleaf: 0,
        register,
        bit,
        name,
        stated: false,
        backing,
    }
}

const fn stated(
    leaf: u32,
    register: Register,
    bit: u8,
    name: &'static str,
    backing: Backing,
) -> Feature {
    Feature {
        stated: true,
        ..f(leaf, register, bit, name, backing)
    }
}

const fn sub1(
    leaf: u32,
    register: Register,
    bit: u8,
    name: &'static str,
    backing: Backing,
) -> Feature {
    Feature {
        subleaf: 1,
        ..f(leaf, register, bit, name, backing)
    }
}

const MSR_EXITS: &[ExitReason] = &[ExitReason::Rdmsr, ExitReason::Wrmsr];
const XSETBV: &[ExitReason] = &[ExitReason::Xsetbv];
/// x2APIC: IA32_APIC_BASE, the ICR, the timer's registers (the rest is virtualized in place).
const X2APIC_MSRS: &[u32] = &[
    msr::IA32_APIC_BASE,
    0x830,
    0x832,
    0x838,
    0x839,
    0x83E,
    0x80F,
];

/// The table, in leaf, register and bit order.
pub const FEATURES: &[Feature] = &[
    // Leaf 1 ECX.
    f(1, Ecx, 0, "SSE3", Native),
    f(1, Ecx, 1, "PCLMULQDQ", Native),
    f(1, Ecx, 9, "SSSE3", Native),
    f(1, Ecx, 12, "FMA", XsaveState(XCR0_AVX)),
    f(1, Ecx, 13, "CMPXCHG16B", Native),
    f(1, Ecx, 17, "PCID", Native),
    f(1, Ecx, 19, "SSE4.1", Native),
    f(1, Ecx, 20, "SSE4.2", Native),
    stated(1, Ecx, 21, "x2APIC", Msrs(X2APIC_MSRS)),
    f(1, Ecx, 22, "MOVBE", Native),
    f(1, Ecx, 23, "POPCNT", Native),
    stated(1, Ecx, 24, "TSC-deadline", Msrs(&[IA32_TSC_DEADLINE])),
    f(1, Ecx, 25, "AES", Native),
    f(1, Ecx, 26, "XSAVE", Exit(XSETBV)),
    f(1, Ecx, 27, "OSXSAVE", GuestCr4(18)),
    f(1, Ecx, 28, "AVX", XsaveState(XCR0_AVX)),
    f(1, Ecx, 29, "F16C", XsaveState(XCR0_AVX)),
    f(1, Ecx, 30, "RDRAND", Native),
    stated(1, Ecx, 31, "hypervisor", Information),
    // Leaf 1 EDX.
    f(1, Edx, 0, "FPU", Native),
    f(1, Edx, 1, "VME", Native),
    f(1, Edx, 2, "DE", Native),
    f(1, Edx, 3, "PSE", Native),
    f(1, Edx, 4, "TSC", Native),
    f(1, Edx, 5, "MSR", Exit(MSR_EXITS)),
    f(1, Edx, 6, "PAE", Native),
    f(1, Edx, 8, "CX8", Native),
    stated(1, Edx, 9, "APIC", Msrs(X2APIC_MSRS)),
    f(1, Edx, 13, "PGE", Native),
    f(1, Edx, 15, "CMOV", Native),
    f(1, Edx, 16, "PAT", Msrs(&[msr::IA32_PAT])),
    f(1, Edx, 17, "PSE-36", Native),
    f(1, Edx, 19, "CLFSH", Native),
    f(1, Edx, 23, "MMX", Native),
    f(1, Edx, 24, "FXSR", Native),
    f(1, Edx, 25, "SSE", Native),
    f(1, Edx, 26, "SSE2", Native),
    f(1, Edx, 27, "SS", Information),
    f(1, Edx, 28, "HTT", Information),
    // Leaf 6 EAX.
    stated(6, Eax, 2, "ARAT", Msrs(&[IA32_TSC_DEADLINE])),
    // Leaf 7 subleaf 0 EBX.
    f(7, Ebx, 0, "FSGSBASE", Native),
    f(7, Ebx, 3, "BMI1", Native),
    f(7, Ebx, 4, "HLE", Native),
    f(7, Ebx, 5, "AVX2", XsaveState(XCR0_AVX)),
    f(7, Ebx, 6, "FDP_EXCPTN_ONLY", Information),
    f(7, Ebx, 7, "SMEP", Native),
    f(7, Ebx, 8, "BMI2", Native),
    f(7, Ebx, 9, "ERMS", Information),
    f(7, Ebx, 10, "INVPCID", Control(S::ENABLE_INVPCID)),
    f(7, Ebx, 11, "RTM", Native),
    f(7, Ebx, 13, "FPU CS/DS deprecated", Information),
    f(7, Ebx, 16, "AVX512F", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 17, "AVX512DQ", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 18, "RDSEED", Native),
    f(7, Ebx, 19, "ADX", Native),
    f(7, Ebx, 20, "SMAP", Native),
    f(7, Ebx, 21, "AVX512_IFMA", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 23, "CLFLUSHOPT", Native),
    f(7, Ebx, 24, "CLWB", Native),
    f(7, Ebx, 26, "AVX512PF", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 27, "AVX512ER", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 28, "AVX512CD", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 29, "SHA", Native),
    f(7, Ebx, 30, "AVX512BW", XsaveState(XCR0_AVX512)),
    f(7, Ebx, 31, "AVX512VL", XsaveState(XCR0_AVX512)),
    // Leaf 7 subleaf 0 ECX.
    f(7, Ecx, 0, "PREFETCHWT1", Native),
    f(7, Ecx, 1, "AVX512_VBMI", XsaveState(XCR0_AVX512)),
    f(7, Ecx, 2, "UMIP", Native),
    f(7, Ecx, 3, "PKU", XsaveState(XCR0_PKRU)),
    f(7, Ecx, 4, "OSPKE", GuestCr4(22)),
    f(7, Ecx, 6, "AVX512_VBMI2", XsaveState(XCR0_AVX512)),
    f(7, Ecx, 8, "GFNI", Native),
    f(7, Ecx, 9, "VAES", XsaveState(XCR0_AVX)),
    f(7, Ecx, 10, "VPCLMULQDQ", XsaveState(XCR0_AVX)),
    f(7, Ecx, 11, "AVX512_VNNI", XsaveState(XCR0_AVX512)),
    f(7, Ecx, 12, "AVX512_BITALG", XsaveState(XCR0_AVX512)),
    f(7, Ecx, 14, "AVX512_VPOPCNTDQ", XsaveState(XCR0_AVX512)),
    f(7, Ecx, 22, "RDPID", Control(S::ENABLE_RDTSCP)),
    f(7, Ecx, 25, "CLDEMOTE", Native),
    f(7, Ecx, 27, "MOVDIRI", Native),
    f(7, Ecx, 28, "MOVDIR64B", Native),
    // Leaf 7 subleaf 0 EDX.
    f(7, Edx, 2, "AVX512_4VNNIW", XsaveState(XCR0_AVX512)),
    f(7, Edx, 3, "AVX512_4FMAPS", XsaveState(XCR0_AVX512)),
    f(7, Edx, 4, "FSRM", Information),
    f(7, Edx, 8, "AVX512_VP2INTERSECT", XsaveState(XCR0_AVX512)),
    f(7, Edx, 10, "MD_CLEAR", Native),
    f(7, Edx, 14, "SERIALIZE", Native),
    f(7, Edx, 15, "HYBRID", Information),
    f(7, Edx, 16, "TSXLDTRK", Native),
    f(7, Edx, 22, "AMX-BF16", XsaveState(XCR0_AMX)),
    f(7, Edx, 23, "AVX512_FP16", XsaveState(XCR0_AVX512)),
    f(7, Edx, 24, "AMX-TILE", XsaveState(XCR0_AMX)),
    f(7, Edx, 25, "AMX-INT8", XsaveState(XCR0_AMX)),
    // Leaf 7 subleaf 1 EAX.
    sub1(7, Eax, 4, "AVX-VNNI", XsaveState(XCR0_AVX)),
    sub1(7, Eax, 5, "AVX512_BF16", XsaveState(XCR0_AVX512)),
    sub1(7, Eax, 10, "fast zero-length MOVSB", Information),
    sub1(7, Eax, 11, "fast short STOSB", Information),
    sub1(7, Eax, 12, "fast short CMPSB/SCASB", Information),
    // Leaf 0DH subleaf 1 EAX (subleaf 0's XCR0 components come from `xsave`).
    sub1(0xD, Eax, 0, "XSAVEOPT", Native),
    sub1(0xD, Eax, 1, "XSAVEC", Native),
    sub1(0xD, Eax, 2, "XGETBV with ECX = 1", Native),
    // Leaf 8000_0001H ECX.
    f(0x8000_0001, Ecx, 0, "LAHF/SAHF", Native),
    f(0x8000_0001, Ecx, 5, "LZCNT", Native),
    f(0x8000_0001, Ecx, 8, "PREFETCHW", Native),
    // Leaf 8000_0001H EDX.
    f(0x8000_0001, Edx, 20, "NX", Msrs(&[msr::IA32_EFER])),
    f(0x8000_0001, Edx, 26, "1-GByte pages", Native),
    f(0x8000_0001, Edx, 27, "RDTSCP", Control(S::ENABLE_RDTSCP)),
    f(0x8000_0001, Edx, 29, "Intel 64", Native),
    // Leaf 8000_0007H EDX.
    f(0x8000_0007, Edx, 8, "invariant TSC", Information),
    // Leaf 8000_0008H EBX.
    f(
        0x8000_0008,
        Ebx,
        9,
        "WBNOINVD",
        ControlledExit(S::WBINVD_EXITING, ExitReason::Wbinvd),
    ),
];

/// Feature registers: (leaf, subleaf, register) whose bits come from [`FEATURES`] only.
pub const FEATURE_REGISTERS: &[(u32, u32, Register)] = &[
    (1, 0, Ecx),
    (1, 0, Edx),
    (6, 0, Eax),
    (6, 0, Ebx),
    (6, 0, Ecx),
    (6, 0, Edx),
    (7, 0, Ebx),
    (7, 0, Ecx),
    (7, 0, Edx),
    (7, 1, Eax),
    (7, 1, Ebx),
    (7, 1, Ecx),
    (7, 1, Edx),
    (0xD, 1, Eax),
    (0x8000_0001, 0, Ecx),
    (0x8000_0001, 0, Edx),
    (0x8000_0007, 0, Edx),
    (0x8000_0008, 0, Ebx),
];

/// The bits of `FEATURES` in (leaf, subleaf, register).
pub fn listed(
    leaf: u32,
    subleaf: u32,
    register: Register,
) -> impl Iterator<Item = &'static Feature> {
    FEATURES
        .iter()
        .filter(move |f| f.leaf == leaf && f.subleaf == subleaf && f.register == register)
}
