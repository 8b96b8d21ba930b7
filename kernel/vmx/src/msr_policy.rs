//! What Tessera does with an RDMSR or WRMSR that exits (the MSR bitmap lets only the virtualized
//! x2APIC accesses through): a few MSRs are emulated from the VMCS or the virtual-APIC page, x2APIC
//! register misuse raises #GP as on bare metal, an ICR write goes to the IPI route decision, the
//! local APIC timer's registers and IA32_TSC_DEADLINE go to the vCPU's timer, and every other MSR is
//! outside the partition's grant: the vCPU is stopped.

use crate::fields::{Field64Guest, NaturalGuest};
use crate::ipi::Icr;
use crate::msr::{
    self, APIC_BASE_BSP, IA32_FS_BASE, IA32_GS_BASE, IA32_TSC_DEADLINE, X2APIC_CURRENT_COUNT,
    X2APIC_DIVIDE_CONFIGURATION, X2APIC_INITIAL_COUNT, X2APIC_LVT_TIMER, X2APIC_SVR,
};

/// What the exit handler does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrAction {
    /// RDMSR returns this value in EDX:EAX.
    Read(u64),
    /// RDMSR returns the guest-state VMCS field `encoding` (VMREAD it).
    ReadGuestField { encoding: u32 },
    /// WRMSR is stored in a guest-state VMCS field.
    WriteGuestField { encoding: u32, value: u64 },
    /// WRMSR is stored in the virtual-APIC page register at `offset`.
    WriteVirtualApic { offset: u16, value: u32 },
    /// WRMSR to the ICR (no reserved bit set): store the value at offset 0x300 of the virtual-APIC
    /// page (reads of the ICR are virtualized) and hand it to `ipi::decide`.
    SendIpi(u64),
    /// An access to the local APIC timer (the kernel applies it to the vCPU's timer; writes of
    /// registers the guest reads back are stored in the virtual-APIC page too).
    Timer(TimerAccess),
    /// Accepted with no effect.
    Ignore,
    /// Inject #GP(0), as bare metal would.
    InjectGp,
    /// Not granted to the partition: stop the vCPU and log it.
    Deny,
}

/// A guest access to its local APIC timer that exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerAccess {
    /// RDMSR IA32_TSC_DEADLINE.
    ReadDeadline,
    /// WRMSR IA32_TSC_DEADLINE (any 64-bit value: 0 disarms).
    WriteDeadline(u64),
    /// WRMSR of the LVT timer entry (offset 320H).
    WriteLvt(u32),
    /// WRMSR of the initial count (380H).
    WriteInitialCount(u32),
    /// RDMSR of the current count (390H).
    ReadCurrentCount,
    /// WRMSR of the divide configuration (3E0H).
    WriteDivideConfiguration(u32),
    /// WRMSR of the spurious-interrupt vector register (0F0H): bit 8 enables the APIC, and a
    /// software-disabled APIC masks the timer.
    WriteSvr(u32),
}

/// The vCPU's state the policy needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrContext {
    /// 0 for the partition's bootstrap vCPU (the BSP flag of IA32_APIC_BASE).
    pub vcpu_index: u32,
    /// Current guest IA32_EFER (VMCS field 0x2806), for writes that keep long mode. Only a WRMSR
    /// of IA32_EFER looks at it (`needs_guest_efer`), so an exit handler reads the field for that
    /// one MSR and may pass anything for the others.
    pub guest_efer: u64,
}

/// Whether the decision for an access to `msr_index` (`write`: WRMSR) depends on
/// `MsrContext::guest_efer`: only a WRMSR of IA32_EFER does.
pub const fn needs_guest_efer(msr_index: u32, write: bool) -> bool {
    write && msr_index == msr::IA32_EFER
}

/// IA32_APIC_BASE of every vCPU: base 0xFEE0_0000, x2APIC mode (bit 10), enabled (bit 11).
pub const APIC_BASE_VALUE: u64 = 0xFEE0_0000 | msr::APIC_BASE_X2APIC | msr::APIC_BASE_ENABLE;
/// EFER bits a guest may change: SCE (0) and NXE (11); LME/LMA stay set.
const EFER_GUEST_WRITABLE: u64 = 1 << 0 | 1 << 11;
const EFER_LONG_MODE: u64 = 1 << 8 | 1 << 10;

/// x2APIC registers a guest may write that the processor does not virtualize (stored in the page):
/// SVR, ESR, LVT timer..LVT error, initial count, divide configuration (offsets).
const X2APIC_STORED_WRITES: [u16; 10] = [
    0x0F0, 0x280, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3E0,
];

/// RDMSR `msr` that exited.
pub fn on_rdmsr(msr_index: u32, ctx: &MsrContext) -> MsrAction {
    match msr_index {
        msr::IA32_APIC_BASE => MsrAction::Read(apic_base(ctx)),
        msr::IA32_EFER => read_field(Field64Guest::Ia32Efer.encoding()),
        msr::IA32_PAT => read_field(Field64Guest::Ia32Pat.encoding()),
        IA32_FS_BASE => read_field(NaturalGuest::FsBase.encoding()),
        IA32_GS_BASE => read_field(NaturalGuest::GsBase.encoding()),
        IA32_TSC_DEADLINE => MsrAction::Timer(TimerAccess::ReadDeadline),
        X2APIC_CURRENT_COUNT => MsrAction::Timer(TimerAccess::ReadCurrentCount),
        msr::X2APIC_MSR_FIRST..=msr::X2APIC_MSR_LAST => MsrAction::InjectGp,
        _ => MsrAction::Deny,
    }
}

/// WRMSR `value` to `msr` that exited.
pub fn on_wrmsr(msr_index: u32, value: u64, ctx: &MsrContext) -> MsrAction {
    match msr_index {
        msr::IA32_APIC_BASE if value == apic_base(ctx) => MsrAction::Ignore,
        msr::IA32_APIC_BASE => MsrAction::InjectGp,
        msr::IA32_EFER => efer_write(value, ctx),
        msr::IA32_PAT if pat_valid(value) => guest_field(Field64Guest::Ia32Pat, value),
        msr::IA32_PAT => MsrAction::InjectGp,
        IA32_FS_BASE | IA32_GS_BASE if !canonical(value) => MsrAction::InjectGp,
        IA32_FS_BASE => MsrAction::WriteGuestField {
            encoding: NaturalGuest::FsBase.encoding(),
            value,
        },
        IA32_GS_BASE => MsrAction::WriteGuestField {
            encoding: NaturalGuest::GsBase.encoding(),
            value,
        },
        // #GP before anything is written or sent, with RIP still on the WRMSR (a fault).
        msr::X2APIC_ICR if Icr::reserved_bits_set(value) => MsrAction::InjectGp,
        msr::X2APIC_ICR => MsrAction::SendIpi(value),
        IA32_TSC_DEADLINE => MsrAction::Timer(TimerAccess::WriteDeadline(value)),
        msr::X2APIC_MSR_FIRST..=msr::X2APIC_MSR_LAST => {
            let action = x2apic_write(msr_index, value);
            match (action, timer_write(msr_index, value as u32)) {
                (MsrAction::WriteVirtualApic { .. }, Some(access)) => MsrAction::Timer(access),
                _ => action,
            }
        }
        _ => MsrAction::Deny,
    }
}

fn apic_base(ctx: &MsrContext) -> u64 {
    APIC_BASE_VALUE
        | if ctx.vcpu_index == 0 {
            APIC_BASE_BSP
        } else {
            0
        }
}

fn read_field(encoding: u32) -> MsrAction {
    MsrAction::ReadGuestField { encoding }
}

/// Bits 63:47 all equal (48-bit linear addresses).
const fn canonical(address: u64) -> bool {
    let top = address >> 47;
    top == 0 || top == 0x1_FFFF
}

fn guest_field(field: Field64Guest, value: u64) -> MsrAction {
    MsrAction::WriteGuestField {
        encoding: field.encoding(),
        value,
    }
}

/// Only SCE and NXE may change; long mode stays on.
fn efer_write(value: u64, ctx: &MsrContext) -> MsrAction {
    let fixed = !EFER_GUEST_WRITABLE;
    let requested_long_mode = value & (1 << 8) != 0;
    if value & fixed & !EFER_LONG_MODE != 0 || !requested_long_mode {
        return MsrAction::InjectGp;
    }
    guest_field(
        Field64Guest::Ia32Efer,
        (ctx.guest_efer & fixed) | (value & EFER_GUEST_WRITABLE),
    )
}

/// Every PAT entry must be a defined memory type (0, 1, 4, 5, 6, 7).
fn pat_valid(value: u64) -> bool {
    value
        .to_le_bytes()
        .iter()
        .all(|&entry| matches!(entry, 0 | 1 | 4 | 5 | 6 | 7))
}

/// The timer access a valid x2APIC register write is, if the register belongs to the timer.
fn timer_write(msr_index: u32, value: u32) -> Option<TimerAccess> {
    Some(match msr_index {
        X2APIC_LVT_TIMER => TimerAccess::WriteLvt(value),
        X2APIC_INITIAL_COUNT => TimerAccess::WriteInitialCount(value),
        X2APIC_DIVIDE_CONFIGURATION => TimerAccess::WriteDivideConfiguration(value),
        X2APIC_SVR => TimerAccess::WriteSvr(value),
        _ => return None,
    })
}

/// Stored registers keep their low 32 bits (ESR only accepts 0); the rest are read-only: #GP.
fn x2apic_write(msr_index: u32, value: u64) -> MsrAction {
    let offset = ((msr_index - msr::X2APIC_MSR_FIRST) << 4) as u16;
    let esr_nonzero = offset == 0x280 && value != 0;
    if !X2APIC_STORED_WRITES.contains(&offset) || value >> 32 != 0 || esr_nonzero {
        return MsrAction::InjectGp;
    }
    MsrAction::WriteVirtualApic {
        offset,
        value: value as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: MsrContext = MsrContext {
        vcpu_index: 1,
        guest_efer: 0x500,
    };

    #[test]
    fn apic_base_reports_x2apic_and_bsp_only_on_vcpu_0() {
        assert_eq!(on_rdmsr(0x1B, &CTX), MsrAction::Read(0xFEE0_0C00));
        assert_eq!(
            on_rdmsr(
                0x1B,
                &MsrContext {
                    vcpu_index: 0,
                    ..CTX
                }
            ),
            MsrAction::Read(0xFEE0_0D00)
        );
        assert_eq!(on_wrmsr(0x1B, 0xFEE0_0C00, &CTX), MsrAction::Ignore);
        assert_eq!(
            on_wrmsr(0x1B, 0xFEE0_0800, &CTX),
            MsrAction::InjectGp,
            "leaving x2APIC mode"
        );
    }

    /// Every access `needs_guest_efer` says no to decides the same whatever EFER holds: every
    /// x2APIC MSR, the others the policy knows and some it does not, with values that pass and
    /// fail their checks.
    #[test]
    fn only_efer_writes_depend_on_the_guest_efer() {
        let known = [
            0x1B,
            msr::IA32_EFER,
            msr::IA32_PAT,
            IA32_FS_BASE,
            IA32_GS_BASE,
            IA32_TSC_DEADLINE,
            0x10,
            0x3A,
            0xC000_0102,
        ];
        let msrs = known.into_iter().chain(0x7FF..=0x900);
        let values = [
            0,
            0x500,
            0xD01,
            0xFEE0_0C00,
            1 << 47,
            0x0007_0406_0007_0406,
            u64::MAX,
        ];
        let other = MsrContext {
            guest_efer: 0x100,
            ..CTX
        };
        let mut independent = 0;
        for msr_index in msrs {
            if !needs_guest_efer(msr_index, false) {
                assert_eq!(on_rdmsr(msr_index, &CTX), on_rdmsr(msr_index, &other));
            }
            for value in values {
                let (a, b) = (
                    on_wrmsr(msr_index, value, &CTX),
                    on_wrmsr(msr_index, value, &other),
                );
                match needs_guest_efer(msr_index, true) {
                    false => assert_eq!(a, b, "WRMSR {msr_index:#x} of {value:#x}"),
                    true => independent += usize::from(a == b),
                }
            }
        }
        assert!(independent < values.len(), "EFER writes do depend on it");
    }

    #[test]
    fn efer_allows_sce_and_nxe_only() {
        let efer = Field64Guest::Ia32Efer.encoding();
        assert_eq!(
            on_wrmsr(msr::IA32_EFER, 0xD01, &CTX),
            MsrAction::WriteGuestField {
                encoding: efer,
                value: 0xD01
            }
        );
        assert_eq!(
            on_wrmsr(msr::IA32_EFER, 0x0, &CTX),
            MsrAction::InjectGp,
            "clearing LME"
        );
        assert_eq!(
            on_wrmsr(msr::IA32_EFER, 0x2500, &CTX),
            MsrAction::InjectGp,
            "reserved bit 13"
        );
        let efer_read = MsrAction::ReadGuestField { encoding: efer };
        assert_eq!(on_rdmsr(msr::IA32_EFER, &CTX), efer_read);
    }

    #[test]
    fn pat_writes_are_checked() {
        let pat = Field64Guest::Ia32Pat.encoding();
        assert_eq!(
            on_wrmsr(0x277, 0x0606_0606_0606_0606, &CTX),
            MsrAction::WriteGuestField {
                encoding: pat,
                value: 0x0606_0606_0606_0606
            }
        );
        assert_eq!(on_wrmsr(0x277, 0x0206, &CTX), MsrAction::InjectGp);
    }

    #[test]
    fn x2apic_registers_behave_as_on_bare_metal() {
        assert_eq!(
            on_wrmsr(0x830, 0x0000_0003_0000_0040, &CTX),
            MsrAction::SendIpi(0x0000_0003_0000_0040)
        );
        assert_eq!(
            on_wrmsr(0x830, 0x0000_0003_0000_2040, &CTX),
            MsrAction::InjectGp,
            "ICR bit 13 is reserved: the WRMSR faults, nothing is sent"
        );
        assert_eq!(
            on_wrmsr(0x80D, 0x1FF, &CTX),
            MsrAction::InjectGp,
            "LDR is read-only in x2APIC mode"
        );
        assert_eq!(
            on_wrmsr(0x832, 0x2_00EF, &CTX),
            MsrAction::Timer(TimerAccess::WriteLvt(0x2_00EF))
        );
        assert_eq!(
            on_wrmsr(0x802, 5, &CTX),
            MsrAction::InjectGp,
            "ID is read-only"
        );
        assert_eq!(
            on_wrmsr(0x828, 1, &CTX),
            MsrAction::InjectGp,
            "ESR takes only 0"
        );
        assert_eq!(on_wrmsr(0x80F, 1 << 32, &CTX), MsrAction::InjectGp);
        assert_eq!(
            on_rdmsr(0x839, &CTX),
            MsrAction::Timer(TimerAccess::ReadCurrentCount)
        );
        assert_eq!(
            on_rdmsr(0x80B, &CTX),
            MsrAction::InjectGp,
            "EOI is write-only"
        );
    }

    #[test]
    fn timer_registers_and_the_deadline_msr_go_to_the_timer() {
        let timer = |access| MsrAction::Timer(access);
        assert_eq!(on_rdmsr(0x6E0, &CTX), timer(TimerAccess::ReadDeadline));
        assert_eq!(
            on_wrmsr(0x6E0, u64::MAX, &CTX),
            timer(TimerAccess::WriteDeadline(u64::MAX)),
            "any deadline value is accepted"
        );
        assert_eq!(
            on_wrmsr(0x838, 1000, &CTX),
            timer(TimerAccess::WriteInitialCount(1000))
        );
        assert_eq!(
            on_wrmsr(0x83E, 0xB, &CTX),
            timer(TimerAccess::WriteDivideConfiguration(0xB))
        );
        assert_eq!(
            on_wrmsr(0x80F, 0x1FF, &CTX),
            timer(TimerAccess::WriteSvr(0x1FF))
        );
        assert_eq!(on_wrmsr(0x838, 1 << 32, &CTX), MsrAction::InjectGp);
        assert_eq!(
            on_wrmsr(0x839, 5, &CTX),
            MsrAction::InjectGp,
            "current count is read-only"
        );
    }

    #[test]
    fn fs_and_gs_base_live_in_the_guest_state() {
        let fs = NaturalGuest::FsBase.encoding();
        assert_eq!(
            on_wrmsr(IA32_FS_BASE, 0x7000, &CTX),
            MsrAction::WriteGuestField {
                encoding: fs,
                value: 0x7000
            }
        );
        assert_eq!(
            on_wrmsr(IA32_GS_BASE, 0x8000_0000_0000, &CTX),
            MsrAction::InjectGp,
            "non-canonical"
        );
        let gs_read = MsrAction::ReadGuestField {
            encoding: NaturalGuest::GsBase.encoding(),
        };
        assert_eq!(on_rdmsr(IA32_GS_BASE, &CTX), gs_read);
    }

    #[test]
    fn everything_else_is_denied() {
        for index in [
            0x10,
            0x3A,
            0x480,
            0x6E1,
            0xC000_0081,
            0xC000_0102,
            0x4000_0000,
        ] {
            assert_eq!(on_rdmsr(index, &CTX), MsrAction::Deny, "{index:#x}");
            assert_eq!(on_wrmsr(index, 0, &CTX), MsrAction::Deny, "{index:#x}");
        }
    }
}
