//! I/O-instruction exit qualification (SDM Vol. 3C 28.2.1, Table 28-5).

/// Direction of an I/O instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoDirection {
    /// OUT, OUTS: guest to device.
    Out,
    /// IN, INS: device to guest.
    In,
}

/// A decoded I/O-instruction exit qualification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoQualification {
    pub port: u16,
    /// Access size: 1, 2 or 4 bytes.
    pub size_bytes: u8,
    pub direction: IoDirection,
    /// INS/OUTS.
    pub string: bool,
    /// REP prefix.
    pub rep: bool,
    /// Port given as an immediate (otherwise in DX).
    pub immediate_operand: bool,
}

impl IoQualification {
    /// Decodes the qualification: bits 2:0 size - 1, 3 direction (1 = in), 4 string, 5 REP,
    /// 6 operand encoding (1 = immediate), 31:16 port.
    pub const fn decode(qualification: u64) -> Self {
        IoQualification {
            port: (qualification >> 16) as u16,
            size_bytes: (qualification & 0x7) as u8 + 1,
            direction: if qualification & (1 << 3) != 0 {
                IoDirection::In
            } else {
                IoDirection::Out
            },
            string: qualification & (1 << 4) != 0,
            rep: qualification & (1 << 5) != 0,
            immediate_operand: qualification & (1 << 6) != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_dx_al_to_com1() {
        let q = IoQualification::decode(0x03F8_0000);
        assert_eq!(q.port, 0x3F8);
        assert_eq!(q.size_bytes, 1);
        assert_eq!(q.direction, IoDirection::Out);
        assert!(!q.string && !q.rep && !q.immediate_operand);
    }

    #[test]
    fn rep_insd_with_immediate_port() {
        let q = IoQualification::decode(0x0070_0000 | 0x3 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6);
        assert_eq!(q.port, 0x70);
        assert_eq!(q.size_bytes, 4);
        assert_eq!(q.direction, IoDirection::In);
        assert!(q.string && q.rep && q.immediate_operand);
    }

    #[test]
    fn word_size() {
        assert_eq!(IoQualification::decode(0x1).size_bytes, 2);
    }
}
