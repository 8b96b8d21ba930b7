//! The guest: sends two IPIs (to itself, then to an APIC ID nobody has), reports its boot-info magic
//! and Tessera's CPUID signature by VMCALL, then reads an MMIO address its EPT does not map.

/// Guest-physical address the code is copied to (the entry RIP).
pub const CODE_GUEST: u64 = 0x10_0000;
/// The guest's own virtual APIC ID.
pub const OWN_APIC_ID: u32 = 7;
/// An APIC ID that is neither own nor routed.
pub const STRANGER_APIC_ID: u32 = 9;
/// Vectors of the two IPIs.
pub const SELF_VECTOR: u8 = 0x40;
pub const STRANGER_VECTOR: u8 = 0x41;
/// The address the guest's page tables map but its EPT does not.
pub const UNMAPPED_MMIO: u64 = 0xFEC0_0000;

/// Machine code (RDI = boot-info address at entry).
pub const CODE: [u8; 57] = [
    0xB9,
    0x30,
    0x08,
    0x00,
    0x00, // mov ecx, 0x830 (x2APIC ICR)
    0xB8,
    SELF_VECTOR,
    0x00,
    0x00,
    0x00, // mov eax, SELF_VECTOR
    0xBA,
    OWN_APIC_ID as u8,
    0x00,
    0x00,
    0x00, // mov edx, OWN_APIC_ID
    0x0F,
    0x30, // wrmsr
    0xB8,
    STRANGER_VECTOR,
    0x00,
    0x00,
    0x00, // mov eax, STRANGER_VECTOR
    0xBA,
    STRANGER_APIC_ID as u8,
    0x00,
    0x00,
    0x00, // mov edx, STRANGER_APIC_ID
    0x0F,
    0x30, // wrmsr
    0x48,
    0x8B,
    0x07, // mov rax, [rdi] (boot-info magic)
    0x0F,
    0x01,
    0xC1, // vmcall
    0xB8,
    0x00,
    0x00,
    0x00,
    0x40, // mov eax, 0x4000_0000
    0x0F,
    0xA2, // cpuid
    0x0F,
    0x01,
    0xC1, // vmcall
    0x48,
    0xA1,
    0x00,
    0x00,
    0xC0,
    0xFE,
    0x00,
    0x00,
    0x00,
    0x00, // mov rax, [UNMAPPED_MMIO]
    0x0F,
    0x0B, // ud2
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mmio_operand_is_the_unmapped_address() {
        let operand = u64::from_le_bytes(CODE[47..55].try_into().unwrap());
        assert_eq!(operand, UNMAPPED_MMIO);
        assert_eq!(&CODE[45..47], &[0x48, 0xA1]);
    }
}
