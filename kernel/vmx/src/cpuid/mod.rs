//! What a guest sees when it executes CPUID (every CPUID exits; SDM Vol. 3C 26.1.2). Feature bits
//! come only from the table in [`features`] (each with the exit, MSR, control or native execution
//! that backs it; everything unlisted reads 0), XSAVE's leaf 0DH from [`xsave`], the timer's leaves
//! from [`timer_leaf`], and a few leaves that only describe the processor are the host's. Tessera's
//! own leaves are 0x4000_0000 (signature) and 0x4000_0001 (who am I). Unknown leaves read 0.

pub mod doc;
pub mod features;
pub mod xsave;

#[cfg(test)]
mod tests;

use crate::apic_timer::TimerFrequency;
use crate::controls::SecondaryProcBased;
use features::{Backing, Register, FEATURE_REGISTERS};

pub use crate::cpuid_result::CpuidResult;

impl CpuidResult {
    pub const fn get(&self, register: Register) -> u32 {
        match register {
            Register::Eax => self.eax,
            Register::Ebx => self.ebx,
            Register::Ecx => self.ecx,
            Register::Edx => self.edx,
        }
    }

    fn set(&mut self, register: Register, value: u32) {
        match register {
            Register::Eax => self.eax = value,
            Register::Ebx => self.ebx = value,
            Register::Ecx => self.ecx = value,
            Register::Edx => self.edx = value,
        }
    }
}

/// The vCPU asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuIdentity {
    pub virtual_apic_id: u32,
    pub vcpu_index: u32,
    pub partition_index: u32,
}

/// Everything besides the host's answer that the guest's answer depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestCpu {
    pub vcpu: VcpuIdentity,
    /// The guest's CR4 (OSXSAVE and OSPKE reflect it).
    pub cr4: u64,
    /// The secondary controls in the vCPU's VMCS (RDTSCP, INVPCID, WBINVD exiting).
    pub secondary: SecondaryProcBased,
    /// XCR0 components the guest may enable (`xsave::partition_xcr0`).
    pub xcr0_allowed: u64,
    pub frequency: TimerFrequency,
}

/// Host answers by (leaf, subleaf): `tessera_arch::cpuid` in the kernel.
pub type HostCpuid<'a> = &'a dyn Fn(u32, u32) -> CpuidResult;

/// First hypervisor leaf (EAX = highest hypervisor leaf, EBX:ECX:EDX = signature).
pub const LEAF_HYPERVISOR: u32 = 0x4000_0000;
/// Tessera's identity leaf: EAX = vCPU index, EBX = partition index, ECX = virtual APIC ID.
pub const LEAF_TESSERA_IDENTITY: u32 = 0x4000_0001;
/// The signature in EBX, ECX, EDX of leaf 0x4000_0000.
pub const SIGNATURE: [u8; 12] = *b"TesseraPartn";
/// Leaf 6 EAX bit 2 (ARAT): the APIC timer runs at a constant rate whatever the C-state.
#[cfg(test)]
const LEAF6_EAX_ARAT: u32 = 1 << 2;

/// Leaves passed as the host answers them: they describe the processor (vendor and highest leaf,
/// cache and TLB descriptors, hybrid core type, AMX tile geometry, brand string, address sizes'
/// leaf minus its feature register) and carry no feature bit.
pub const INFORMATION_LEAVES: &[u32] = &[
    0,
    2,
    4,
    0x18,
    0x1A,
    0x1D,
    0x1E,
    0x8000_0000,
    0x8000_0002,
    0x8000_0003,
    0x8000_0004,
    0x8000_0005,
    0x8000_0006,
];

/// The guest's CPUID result for `leaf` and `subleaf`.
pub fn emulate(leaf: u32, subleaf: u32, host: HostCpuid, guest: &GuestCpu) -> CpuidResult {
    if let Some(timer) = timer_leaf(leaf, &guest.frequency) {
        return timer;
    }
    let own = host(leaf, subleaf);
    let mut answer = match leaf {
        _ if INFORMATION_LEAVES.contains(&leaf) => own,
        1 => CpuidResult {
            eax: own.eax,
            ebx: (own.ebx & 0x00FF_FFFF) | (guest.vcpu.virtual_apic_id & 0xFF) << 24,
            ..CpuidResult::default()
        },
        7 if subleaf == 0 => CpuidResult {
            eax: own.eax.min(1),
            ..CpuidResult::default()
        },
        0xB | 0x1F => CpuidResult {
            edx: guest.vcpu.virtual_apic_id,
            ..own
        },
        0xD => xsave::leaf_d(subleaf, guest.xcr0_allowed, host),
        0x8000_0008 => CpuidResult {
            eax: own.eax,
            ..CpuidResult::default()
        },
        LEAF_HYPERVISOR => signature_leaf(),
        LEAF_TESSERA_IDENTITY => CpuidResult {
            eax: guest.vcpu.vcpu_index,
            ebx: guest.vcpu.partition_index,
            ecx: guest.vcpu.virtual_apic_id,
            edx: 0,
        },
        _ => CpuidResult::default(),
    };
    let feature_subleaf = if matches!(leaf, 7 | 0xD) { subleaf } else { 0 };
    for &(l, s, register) in FEATURE_REGISTERS {
        if (l, s) == (leaf, feature_subleaf) {
            answer.set(
                register,
                passed_bits(l, s, register, own.get(register), guest),
            );
        }
    }
    answer
}

/// The bits of the table in (leaf, subleaf, register) the guest sees, given the host's value.
pub fn passed_bits(
    leaf: u32,
    subleaf: u32,
    register: Register,
    host_value: u32,
    guest: &GuestCpu,
) -> u32 {
    features::listed(leaf, subleaf, register)
        .filter(|f| {
            let host_has = host_value & (1 << f.bit) != 0;
            match f.backing {
                Backing::GuestCr4(bit) => guest.cr4 & (1 << bit) != 0,
                backing => (f.stated || host_has) && backed(backing, guest),
            }
        })
        .fold(0, |bits, f| bits | 1 << f.bit)
}

/// Whether what `backing` needs is in place for this vCPU.
fn backed(backing: Backing, guest: &GuestCpu) -> bool {
    match backing {
        Backing::Control(control) | Backing::ControlledExit(control, _) => {
            guest.secondary.contains(control)
        }
        Backing::XsaveState(components) => guest.xcr0_allowed & components == components,
        Backing::GuestCr4(bit) => guest.cr4 & (1 << bit) != 0,
        Backing::Native | Backing::Information | Backing::Exit(_) | Backing::Msrs(_) => true,
    }
}

/// The timer leaves Tessera states: 15H and 16H from the frequencies Tessera states (the APIC
/// timer counts at the crystal clock of leaf 15H); `None` for every other leaf. (Leaf 6 is in the
/// feature table: only ARAT, since Tessera's timer never stops in a C-state.)
pub fn timer_leaf(leaf: u32, frequency: &TimerFrequency) -> Option<CpuidResult> {
    match leaf {
        0x15 => Some(frequency.leaf_15()),
        0x16 => Some(frequency.leaf_16()),
        _ => None,
    }
}

fn signature_leaf() -> CpuidResult {
    let word = |i: usize| {
        u32::from_le_bytes([
            SIGNATURE[i],
            SIGNATURE[i + 1],
            SIGNATURE[i + 2],
            SIGNATURE[i + 3],
        ])
    };
    CpuidResult {
        eax: LEAF_TESSERA_IDENTITY,
        ebx: word(0),
        ecx: word(4),
        edx: word(8),
    }
}
