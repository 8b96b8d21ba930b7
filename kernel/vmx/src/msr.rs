//! Model-specific register numbers (SDM Vol. 4 "Model-Specific Registers"; Vol. 3D Appendix A
//! "VMX Capability Reporting Facility"), the one home of every MSR number Tessera names: the ones
//! VMX setup reads, the ones guests' RDMSR/WRMSR exits emulate, and the ones tessera-arch drives
//! (local APIC, machine-check banks).

/// IA32_FEATURE_CONTROL: bit 0 lock, bit 2 enable VMX outside SMX.
pub const IA32_FEATURE_CONTROL: u32 = 0x3A;
/// IA32_FEATURE_CONTROL bit 0: the register is locked until reset.
pub const FEATURE_CONTROL_LOCK: u64 = 1 << 0;
/// IA32_FEATURE_CONTROL bit 2: VMXON allowed outside SMX operation.
pub const FEATURE_CONTROL_VMX_OUTSIDE_SMX: u64 = 1 << 2;

/// IA32_VMX_BASIC (A.1): revision ID, VMCS size, memory type, bit 55 "TRUE_* MSRs exist".
pub const IA32_VMX_BASIC: u32 = 0x480;
/// IA32_VMX_PINBASED_CTLS (A.3.1).
pub const IA32_VMX_PINBASED_CTLS: u32 = 0x481;
/// IA32_VMX_PROCBASED_CTLS (A.3.2).
pub const IA32_VMX_PROCBASED_CTLS: u32 = 0x482;
/// IA32_VMX_EXIT_CTLS (A.4).
pub const IA32_VMX_EXIT_CTLS: u32 = 0x483;
/// IA32_VMX_ENTRY_CTLS (A.5).
pub const IA32_VMX_ENTRY_CTLS: u32 = 0x484;
/// IA32_VMX_MISC (A.6).
pub const IA32_VMX_MISC: u32 = 0x485;
/// IA32_VMX_CR0_FIXED0 (A.7): CR0 bits that must be 1 in VMX operation.
pub const IA32_VMX_CR0_FIXED0: u32 = 0x486;
/// IA32_VMX_CR0_FIXED1 (A.7): CR0 bits that may be 1 in VMX operation.
pub const IA32_VMX_CR0_FIXED1: u32 = 0x487;
/// IA32_VMX_CR4_FIXED0 (A.8).
pub const IA32_VMX_CR4_FIXED0: u32 = 0x488;
/// IA32_VMX_CR4_FIXED1 (A.8).
pub const IA32_VMX_CR4_FIXED1: u32 = 0x489;
/// IA32_VMX_VMCS_ENUM (A.9).
pub const IA32_VMX_VMCS_ENUM: u32 = 0x48A;
/// IA32_VMX_PROCBASED_CTLS2 (A.3.3): secondary controls, allowed-0 in 31:0, allowed-1 in 63:32.
pub const IA32_VMX_PROCBASED_CTLS2: u32 = 0x48B;
/// IA32_VMX_EPT_VPID_CAP (A.10).
pub const IA32_VMX_EPT_VPID_CAP: u32 = 0x48C;
/// IA32_VMX_TRUE_PINBASED_CTLS (A.3.1), present when IA32_VMX_BASIC bit 55 = 1.
pub const IA32_VMX_TRUE_PINBASED_CTLS: u32 = 0x48D;
/// IA32_VMX_TRUE_PROCBASED_CTLS (A.3.2).
pub const IA32_VMX_TRUE_PROCBASED_CTLS: u32 = 0x48E;
/// IA32_VMX_TRUE_EXIT_CTLS (A.4).
pub const IA32_VMX_TRUE_EXIT_CTLS: u32 = 0x48F;
/// IA32_VMX_TRUE_ENTRY_CTLS (A.5).
pub const IA32_VMX_TRUE_ENTRY_CTLS: u32 = 0x490;
/// IA32_VMX_VMFUNC (A.11).
pub const IA32_VMX_VMFUNC: u32 = 0x491;
/// IA32_VMX_PROCBASED_CTLS3 (A.3.4): tertiary controls, all 64 bits are allowed-1 settings.
pub const IA32_VMX_PROCBASED_CTLS3: u32 = 0x492;
/// IA32_VMX_EXIT_CTLS2 (A.4.2): secondary exit controls, 64-bit allowed-1.
pub const IA32_VMX_EXIT_CTLS2: u32 = 0x493;

/// IA32_VMX_BASIC bit 55: the TRUE_* capability MSRs exist and report default-1 controls that may be 0.
pub const VMX_BASIC_TRUE_CTLS: u64 = 1 << 55;

/// IA32_EFER (SDM Vol. 4): bit 8 LME, bit 10 LMA, bit 11 NXE.
pub const IA32_EFER: u32 = 0xC000_0080;
/// IA32_PAT.
pub const IA32_PAT: u32 = 0x277;
/// IA32_APIC_BASE: bit 8 BSP, bit 10 x2APIC enable, bit 11 APIC global enable.
pub const IA32_APIC_BASE: u32 = 0x1B;
/// IA32_APIC_BASE bit 8: the processor is the bootstrap processor.
pub const APIC_BASE_BSP: u64 = 1 << 8;
/// IA32_APIC_BASE bit 10: x2APIC mode.
pub const APIC_BASE_X2APIC: u64 = 1 << 10;
/// IA32_APIC_BASE bit 11: APIC globally enabled.
pub const APIC_BASE_ENABLE: u64 = 1 << 11;
/// IA32_FS_BASE: held in the guest-state area.
pub const IA32_FS_BASE: u32 = 0xC000_0100;
/// IA32_GS_BASE: held in the guest-state area.
pub const IA32_GS_BASE: u32 = 0xC000_0101;
/// IA32_TSC_DEADLINE: the local APIC timer's deadline in TSC-deadline mode.
pub const IA32_TSC_DEADLINE: u32 = 0x6E0;
/// IA32_MCG_CAP: bits 7:0 the number of machine-check banks.
pub const IA32_MCG_CAP: u32 = 0x179;
/// IA32_MCG_STATUS: bit 2 MCIP (machine check in progress).
pub const IA32_MCG_STATUS: u32 = 0x17A;
/// IA32_MC0_STATUS: bank `i`'s status is at `+ 4 * i`.
pub const IA32_MC0_STATUS: u32 = 0x401;
/// First x2APIC MSR (APIC register offset 0x000 maps to MSR 0x800, offset >> 4).
pub const X2APIC_MSR_FIRST: u32 = 0x800;
/// Last MSR of the x2APIC range.
pub const X2APIC_MSR_LAST: u32 = 0x8FF;
/// x2APIC ID register (read-only).
pub const X2APIC_ID: u32 = 0x802;
/// x2APIC task-priority register.
pub const X2APIC_TPR: u32 = 0x808;
/// x2APIC end-of-interrupt register (write-only).
pub const X2APIC_EOI: u32 = 0x80B;
/// x2APIC spurious-interrupt vector register (0F0H): bit 8 enables the APIC in software.
pub const X2APIC_SVR: u32 = 0x80F;
/// x2APIC interrupt command register (64-bit).
pub const X2APIC_ICR: u32 = 0x830;
/// x2APIC LVT timer register (APIC offset 320H).
pub const X2APIC_LVT_TIMER: u32 = 0x832;
/// x2APIC initial-count register (380H).
pub const X2APIC_INITIAL_COUNT: u32 = 0x838;
/// x2APIC current-count register (390H, read-only).
pub const X2APIC_CURRENT_COUNT: u32 = 0x839;
/// x2APIC divide-configuration register (3E0H).
pub const X2APIC_DIVIDE_CONFIGURATION: u32 = 0x83E;
/// x2APIC self-IPI register (write-only).
pub const X2APIC_SELF_IPI: u32 = 0x83F;
