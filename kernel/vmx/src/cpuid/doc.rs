//! The CPUID table as Markdown: the generated part of `docs/cpuid.md` (a host test compares them,
//! `TESSERA_BLESS=1` rewrites the file).

use super::features::{Backing, Feature, FEATURES};
use super::xsave::XCR0_OFFERED;
use super::INFORMATION_LEAVES;
use crate::select::{control_name, ControlGroup};
use core::fmt::{self, Write};

/// Names of the XCR0 components Tessera may offer, by bit.
const XCR0_NAMES: [(u8, &str); 9] = [
    (0, "x87"),
    (1, "SSE"),
    (2, "AVX"),
    (5, "AVX-512 opmask"),
    (6, "AVX-512 ZMM_Hi256"),
    (7, "AVX-512 Hi16_ZMM"),
    (9, "PKRU"),
    (17, "AMX XTILECFG"),
    (18, "AMX XTILEDATA"),
];

/// Writes the generated Markdown: the feature table, the XCR0 components and the leaves passed
/// as the host's.
pub fn write_markdown(out: &mut dyn Write) -> fmt::Result {
    writeln!(
        out,
        "| Leaf | Sub | Reg | Bit | Feature | Passed when | Backed by |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for feature in FEATURES {
        row(out, feature)?;
    }
    writeln!(out)?;
    write!(out, "XCR0 components a guest may enable (leaf 0DH subleaf 0 EAX:EDX, when the host has them; XSETBV checks them):")?;
    for (bit, name) in XCR0_NAMES {
        if XCR0_OFFERED & (1 << bit) != 0 {
            write!(out, " {bit} {name};")?;
        }
    }
    writeln!(out)?;
    writeln!(out)?;
    write!(
        out,
        "Leaves passed as the host's (they describe the processor):"
    )?;
    for leaf in INFORMATION_LEAVES {
        write!(out, " {leaf:X}H")?;
    }
    writeln!(out)
}

fn row(out: &mut dyn Write, f: &Feature) -> fmt::Result {
    write!(
        out,
        "| {:X}H | {} | {} | {} | {} | ",
        f.leaf,
        f.subleaf,
        f.register.name(),
        f.bit,
        f.name
    )?;
    match (f.stated, f.backing) {
        (_, Backing::GuestCr4(bit)) => write!(out, "the guest sets CR4 bit {bit}")?,
        (true, _) => write!(out, "always (Tessera provides it)")?,
        (false, Backing::Control(c) | Backing::ControlledExit(c, _)) => {
            write!(out, "host has it and \"{}\" is set", secondary(c.bits()))?
        }
        (false, Backing::XsaveState(_)) => write!(out, "host has it and its XCR0 components")?,
        (false, _) => write!(out, "host has it")?,
    }
    write!(out, " | ")?;
    backing(out, f.backing)?;
    writeln!(out, " |")
}

fn backing(out: &mut dyn Write, backing: Backing) -> fmt::Result {
    match backing {
        Backing::Native => write!(out, "runs without an exit, on the guest's own state"),
        Backing::Information => write!(out, "information only"),
        Backing::XsaveState(components) => {
            write!(out, "XCR0 bits")?;
            for bit in (0..64).filter(|b| components & (1 << b) != 0) {
                write!(out, " {bit}")?;
            }
            write!(out, " through XSETBV (exit, checked)")
        }
        Backing::Control(c) => write!(out, "control \"{}\"", secondary(c.bits())),
        Backing::ControlledExit(_, reason) => {
            write!(out, "exit `{}`, handled", reason.short_name())
        }
        Backing::Exit(reasons) => {
            for (i, reason) in reasons.iter().enumerate() {
                let sep = if i == 0 { "exit" } else { "," };
                write!(out, "{sep} `{}`", reason.short_name())?;
            }
            write!(out, ", handled")
        }
        Backing::Msrs(msrs) => {
            for (i, msr) in msrs.iter().enumerate() {
                let sep = if i == 0 { "MSR" } else { "," };
                write!(out, "{sep} {msr:#X}")?;
            }
            write!(out, " served by the MSR policy")
        }
        Backing::GuestCr4(bit) => write!(out, "the guest's CR4 bit {bit}"),
    }
}

/// The SDM name of the secondary control whose only bit is `bits`.
fn secondary(bits: u32) -> &'static str {
    control_name(
        ControlGroup::SecondaryProcBased,
        bits.trailing_zeros() as u8,
    )
}
