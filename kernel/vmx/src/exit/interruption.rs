//! Interruption-information format shared by VM-exit interruption info (0x4404), IDT-vectoring info
//! (0x4408) and VM-entry interruption info (0x4016) (SDM Vol. 3C 25.8.3, 28.2.2, Table 28-17).

/// Interruption type (bits 10:8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum InterruptionType {
    ExternalInterrupt = 0,
    Nmi = 2,
    HardwareException = 3,
    SoftwareInterrupt = 4,
    PrivilegedSoftwareException = 5,
    SoftwareException = 6,
    OtherEvent = 7,
}

/// A decoded or to-be-injected interruption-information word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptionInfo {
    pub vector: u8,
    /// `None` for the reserved type 1.
    pub kind: Option<InterruptionType>,
    pub error_code_valid: bool,
    /// Bit 31: the field holds an event.
    pub valid: bool,
}

impl InterruptionInfo {
    /// Decodes bits 7:0 vector, 10:8 type, 11 error-code valid, 31 valid.
    pub const fn decode(raw: u32) -> Self {
        let kind = match (raw >> 8) & 7 {
            0 => Some(InterruptionType::ExternalInterrupt),
            2 => Some(InterruptionType::Nmi),
            3 => Some(InterruptionType::HardwareException),
            4 => Some(InterruptionType::SoftwareInterrupt),
            5 => Some(InterruptionType::PrivilegedSoftwareException),
            6 => Some(InterruptionType::SoftwareException),
            7 => Some(InterruptionType::OtherEvent),
            _ => None,
        };
        InterruptionInfo {
            vector: raw as u8,
            kind,
            error_code_valid: raw & (1 << 11) != 0,
            valid: raw & (1 << 31) != 0,
        }
    }

    /// The VM-entry interruption-information word that injects `kind` with `vector` (valid bit set).
    pub const fn inject(vector: u8, kind: InterruptionType, error_code_valid: bool) -> u32 {
        let error_bit = if error_code_valid { 1 << 11 } else { 0 };
        (1 << 31) | error_bit | ((kind as u32) << 8) | vector as u32
    }

    /// The word that injects an NMI (vector 2, type NMI).
    pub const fn inject_nmi() -> u32 {
        Self::inject(2, InterruptionType::Nmi, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_external_interrupt() {
        let info = InterruptionInfo::decode(0x8000_00F2);
        assert!(info.valid);
        assert_eq!(info.vector, 0xF2);
        assert_eq!(info.kind, Some(InterruptionType::ExternalInterrupt));
    }

    #[test]
    fn page_fault_with_error_code() {
        let info = InterruptionInfo::decode(0x8000_0B0E);
        assert_eq!(
            (info.vector, info.kind),
            (14, Some(InterruptionType::HardwareException))
        );
        assert!(info.error_code_valid);
    }

    #[test]
    fn nmi_injection_word_round_trips() {
        assert_eq!(InterruptionInfo::inject_nmi(), 0x8000_0202);
        let info = InterruptionInfo::decode(InterruptionInfo::inject_nmi());
        assert_eq!(info.kind, Some(InterruptionType::Nmi));
        assert_eq!(InterruptionInfo::decode(0x100).kind, None);
    }
}
