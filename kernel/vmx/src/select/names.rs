//! Human names of control bits for error messages, as the SDM spells them (Vol. 3C 25.6-25.8).

use super::ControlGroup;

/// The SDM name of bit `bit` of control word `group`, or "(unnamed)" for bits Tessera never asks for.
pub fn control_name(group: ControlGroup, bit: u8) -> &'static str {
    match group {
        ControlGroup::PinBased => pin_name(bit),
        ControlGroup::PrimaryProcBased => primary_name(bit),
        ControlGroup::SecondaryProcBased => secondary_name(bit),
        ControlGroup::TertiaryProcBased => tertiary_name(bit),
        ControlGroup::Exit => exit_name(bit),
        ControlGroup::Entry => entry_name(bit),
    }
}

fn pin_name(bit: u8) -> &'static str {
    match bit {
        0 => "external-interrupt exiting",
        3 => "NMI exiting",
        5 => "virtual NMIs",
        6 => "activate VMX-preemption timer",
        7 => "process posted interrupts",
        _ => "(unnamed)",
    }
}

fn primary_name(bit: u8) -> &'static str {
    match bit {
        7 => "HLT exiting",
        12 => "RDTSC exiting",
        15 => "CR3-load exiting",
        16 => "CR3-store exiting",
        17 => "activate tertiary controls",
        21 => "use TPR shadow",
        24 => "unconditional I/O exiting",
        25 => "use I/O bitmaps",
        28 => "use MSR bitmaps",
        31 => "activate secondary controls",
        _ => "(unnamed)",
    }
}

fn secondary_name(bit: u8) -> &'static str {
    match bit {
        0 => "virtualize APIC accesses",
        1 => "enable EPT",
        3 => "enable RDTSCP",
        4 => "virtualize x2APIC mode",
        6 => "WBINVD exiting",
        7 => "unrestricted guest",
        8 => "APIC-register virtualization",
        9 => "virtual-interrupt delivery",
        12 => "enable INVPCID",
        30 => "VMM bus-lock detection",
        _ => "(unnamed)",
    }
}

fn tertiary_name(bit: u8) -> &'static str {
    match bit {
        4 => "IPI virtualization",
        8 => "APIC-timer virtualization",
        _ => "(unnamed)",
    }
}

fn exit_name(bit: u8) -> &'static str {
    match bit {
        9 => "host address-space size",
        15 => "acknowledge interrupt on exit",
        18 => "save IA32_PAT",
        19 => "load IA32_PAT",
        20 => "save IA32_EFER",
        21 => "load IA32_EFER",
        _ => "(unnamed)",
    }
}

fn entry_name(bit: u8) -> &'static str {
    match bit {
        9 => "IA-32e mode guest",
        14 => "load IA32_PAT",
        15 => "load IA32_EFER",
        _ => "(unnamed)",
    }
}
