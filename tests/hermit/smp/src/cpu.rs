//! The one instruction this test needs that std does not offer: CPUID.

/// The x2APIC ID of the CPU this thread runs on (CPUID leaf 0xB, EDX).
pub fn x2apic_id() -> u32 {
    // SAFETY: CPUID only reads processor identification; every x86-64 CPU (and Tessera's CPUID
    // exit) implements leaf 0xB here, and it has no side effect on memory.
    unsafe { std::arch::x86_64::__cpuid_count(0xB, 0).edx }
}
