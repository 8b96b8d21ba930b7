//! The one instruction this test needs that std does not offer: CPUID.

/// The x2APIC ID of the CPU this thread runs on (CPUID leaf 0xB, EDX). CPUID is an `unsafe`
/// intrinsic on the toolchain Hermit pins, std offers no safe CPUID, and a Hermit application can
/// link neither tessera-arch nor tessera-guest (bare-metal crates), so this is the one allowed use.
#[allow(unsafe_code)]
pub fn x2apic_id() -> u32 {
    // SAFETY: CPUID only reads processor identification; every x86-64 CPU (and Tessera's CPUID
    // exit) implements leaf 0xB here, and it has no side effect on memory.
    unsafe { std::arch::x86_64::__cpuid_count(0xB, 0).edx }
}
