//! The four registers of one CPUID answer, a leaf type: the CPUID emulation (`cpuid`) and the
//! timer frequencies read from leaves 15H/16H (`apic_timer`) both take it.

/// Registers returned by CPUID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}
