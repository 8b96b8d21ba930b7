//! Control-register access exit qualification (SDM Vol. 3C 28.2.1, Table 28-3).

/// What the guest did to the control register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrAccessType {
    MovToCr,
    MovFromCr,
    Clts,
    Lmsw,
}

/// A decoded control-register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrAccess {
    /// Control register number (0, 3, 4 or 8).
    pub cr: u8,
    pub access: CrAccessType,
    /// LMSW operand is memory (otherwise a register).
    pub lmsw_memory_operand: bool,
    /// General-purpose register for MOV CR (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15).
    pub gpr: u8,
    /// LMSW source data (bits 31:16).
    pub lmsw_source: u16,
}

impl CrAccess {
    /// Decodes: bits 3:0 CR number, 5:4 access type, 6 LMSW operand type, 11:8 register, 31:16 LMSW data.
    pub const fn decode(qualification: u64) -> Self {
        let access = match (qualification >> 4) & 3 {
            0 => CrAccessType::MovToCr,
            1 => CrAccessType::MovFromCr,
            2 => CrAccessType::Clts,
            _ => CrAccessType::Lmsw,
        };
        CrAccess {
            cr: (qualification & 0xF) as u8,
            access,
            lmsw_memory_operand: qualification & (1 << 6) != 0,
            gpr: ((qualification >> 8) & 0xF) as u8,
            lmsw_source: (qualification >> 16) as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mov_to_cr4_from_rbx() {
        let q = CrAccess::decode(0x0000_0304);
        assert_eq!(q.cr, 4);
        assert_eq!(q.access, CrAccessType::MovToCr);
        assert_eq!(q.gpr, 3);
    }

    #[test]
    fn mov_from_cr3_into_r15() {
        let q = CrAccess::decode(0x0F13);
        assert_eq!((q.cr, q.access, q.gpr), (3, CrAccessType::MovFromCr, 15));
    }

    #[test]
    fn lmsw_and_clts() {
        let lmsw = CrAccess::decode(0x0001_0070);
        assert_eq!(lmsw.access, CrAccessType::Lmsw);
        assert!(lmsw.lmsw_memory_operand);
        assert_eq!(lmsw.lmsw_source, 1);
        assert_eq!(CrAccess::decode(0x20).access, CrAccessType::Clts);
    }
}
