//! What a guest sees when it executes CPUID (every CPUID exits; SDM Vol. 3C 26.1.2): the host's
//! answer with the virtual APIC ID, x2APIC present, VMX hidden and the hypervisor bit set, plus
//! Tessera's own leaves 0x4000_0000 (signature) and 0x4000_0001 (who am I). The local APIC timer's
//! leaves (TSC-deadline mode, an always-running timer, leaves 15H and 16H) come from
//! [`timer_leaf`].

use crate::apic_timer::TimerFrequency;

/// Registers returned by CPUID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// The vCPU asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuIdentity {
    pub virtual_apic_id: u32,
    pub vcpu_index: u32,
    pub partition_index: u32,
}

/// First hypervisor leaf (EAX = highest hypervisor leaf, EBX:ECX:EDX = signature).
pub const LEAF_HYPERVISOR: u32 = 0x4000_0000;
/// Tessera's identity leaf: EAX = vCPU index, EBX = partition index, ECX = virtual APIC ID.
pub const LEAF_TESSERA_IDENTITY: u32 = 0x4000_0001;
/// The signature in EBX, ECX, EDX of leaf 0x4000_0000.
pub const SIGNATURE: [u8; 12] = *b"TesseraPartn";

const LEAF1_ECX_VMX: u32 = 1 << 5;
const LEAF1_ECX_SMX: u32 = 1 << 6;
const LEAF1_ECX_X2APIC: u32 = 1 << 21;
const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;
/// MTRRs: their MSRs are not granted to guests.
const LEAF1_EDX_MTRR: u32 = 1 << 12;
/// Features whose MSRs or instructions a guest may not use.
const LEAF1_ECX_HIDDEN: u32 = LEAF1_ECX_VMX | LEAF1_ECX_SMX;
/// Leaf 6 EAX bit 2 (ARAT): the APIC timer runs at a constant rate whatever the C-state.
const LEAF6_EAX_ARAT: u32 = 1 << 2;

/// The guest's CPUID result for `leaf`, given the host's result for the same leaf and subleaf.
pub fn emulate(leaf: u32, host: CpuidResult, vcpu: &VcpuIdentity) -> CpuidResult {
    match leaf {
        1 => leaf_1(host, vcpu),
        0xB | 0x1F => CpuidResult {
            edx: vcpu.virtual_apic_id,
            ..host
        },
        LEAF_HYPERVISOR => signature_leaf(),
        LEAF_TESSERA_IDENTITY => CpuidResult {
            eax: vcpu.vcpu_index,
            ebx: vcpu.partition_index,
            ecx: vcpu.virtual_apic_id,
            edx: 0,
        },
        0x4000_0002..=0x4FFF_FFFF => CpuidResult::default(),
        _ => host,
    }
}

/// Leaf 1: initial APIC ID (EBX 31:24) is the virtual one; x2APIC, TSC-deadline timer and
/// "hypervisor present" set; VMX, SMX and MTRRs hidden (their MSRs are not granted).
fn leaf_1(host: CpuidResult, vcpu: &VcpuIdentity) -> CpuidResult {
    let shown = LEAF1_ECX_X2APIC | LEAF1_ECX_TSC_DEADLINE | LEAF1_ECX_HYPERVISOR;
    let ecx = (host.ecx | shown) & !LEAF1_ECX_HIDDEN;
    let ebx = (host.ebx & 0x00FF_FFFF) | (vcpu.virtual_apic_id & 0xFF) << 24;
    let edx = host.edx & !LEAF1_EDX_MTRR;
    CpuidResult {
        ebx,
        ecx,
        edx,
        ..host
    }
}

/// The guest's answer for the timer leaves, given the host's: leaf 6 with ARAT set (Tessera's
/// timer never stops in a C-state), leaves 15H and 16H from the frequencies Tessera states (the
/// APIC timer counts at the crystal clock of leaf 15H); `None` for every other leaf.
pub fn timer_leaf(leaf: u32, host: CpuidResult, frequency: &TimerFrequency) -> Option<CpuidResult> {
    match leaf {
        6 => Some(CpuidResult {
            eax: host.eax | LEAF6_EAX_ARAT,
            ..host
        }),
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

#[cfg(test)]
mod tests {
    use super::*;

    const VCPU: VcpuIdentity = VcpuIdentity {
        virtual_apic_id: 0x13,
        vcpu_index: 1,
        partition_index: 2,
    };

    #[test]
    fn leaf_1_shows_the_virtual_apic_id_and_hides_vmx() {
        let host = CpuidResult {
            eax: 0x806F8,
            ebx: 0x0340_0800,
            ecx: 0x7FFA_F3BF | LEAF1_ECX_VMX,
            edx: 0xBFEB_FBFF,
        };
        let guest = emulate(1, host, &VCPU);
        assert_eq!(guest.ebx, 0x1340_0800);
        assert_eq!(guest.ecx & LEAF1_ECX_VMX, 0);
        assert_ne!(guest.ecx & LEAF1_ECX_HYPERVISOR, 0);
        assert_ne!(guest.ecx & LEAF1_ECX_X2APIC, 0);
        assert_ne!(
            guest.ecx & LEAF1_ECX_TSC_DEADLINE,
            0,
            "TSC-deadline mode is offered"
        );
        assert_eq!(guest.edx, host.edx & !LEAF1_EDX_MTRR);
        assert_eq!(guest.eax, host.eax);
    }

    #[test]
    fn topology_leaves_report_the_x2apic_id() {
        let host = CpuidResult {
            eax: 1,
            ebx: 2,
            ecx: 0x100,
            edx: 3,
        };
        assert_eq!(emulate(0xB, host, &VCPU), CpuidResult { edx: 0x13, ..host });
        assert_eq!(emulate(0x1F, host, &VCPU).edx, 0x13);
    }

    #[test]
    fn hypervisor_leaves_name_tessera_and_the_vcpu() {
        let leaf = emulate(LEAF_HYPERVISOR, CpuidResult::default(), &VCPU);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&leaf.ebx.to_le_bytes());
        bytes[4..8].copy_from_slice(&leaf.ecx.to_le_bytes());
        bytes[8..].copy_from_slice(&leaf.edx.to_le_bytes());
        assert_eq!(&bytes, b"TesseraPartn");
        assert_eq!(leaf.eax, LEAF_TESSERA_IDENTITY);
        let me = emulate(LEAF_TESSERA_IDENTITY, CpuidResult::default(), &VCPU);
        assert_eq!((me.eax, me.ebx, me.ecx), (1, 2, 0x13));
        assert_eq!(
            emulate(
                0x4000_0005,
                CpuidResult {
                    eax: 9,
                    ..CpuidResult::default()
                },
                &VCPU
            ),
            CpuidResult::default()
        );
    }

    #[test]
    fn timer_leaves_state_the_frequencies() {
        let frequency = TimerFrequency::from_tsc_hz(50_000_000);
        let host = CpuidResult {
            eax: 0x77,
            ebx: 2,
            ..CpuidResult::default()
        };
        let leaf_6 = timer_leaf(6, host, &frequency).unwrap();
        assert_eq!(
            (leaf_6.eax, leaf_6.ebx),
            (0x77, 2),
            "ARAT already set stays set"
        );
        assert_eq!(
            timer_leaf(6, CpuidResult::default(), &frequency)
                .unwrap()
                .eax,
            LEAF6_EAX_ARAT
        );
        assert_eq!(timer_leaf(0x15, host, &frequency).unwrap().ecx, 50_000_000);
        assert_eq!(timer_leaf(0x16, host, &frequency).unwrap().eax, 50);
        assert_eq!(timer_leaf(1, host, &frequency), None);
    }

    #[test]
    fn other_leaves_pass_through() {
        let host = CpuidResult {
            eax: 0x20,
            ebx: 0x756E_6547,
            ecx: 0x6C65_746E,
            edx: 0x4965_6E69,
        };
        assert_eq!(emulate(0, host, &VCPU), host);
    }
}
