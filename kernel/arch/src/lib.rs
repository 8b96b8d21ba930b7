//! Tessera's platform layer: boot (Multiboot2, long mode), the console UART and logging, GDT/IDT, x2APIC, SMP
//! bring-up and VMX instructions. The only crate of Tessera with `unsafe` code; each block says why it
//! is sound. Pure helpers (page tables, trampoline layout, ICR values, boot information) are host-tested.
#![cfg_attr(not(test), no_std)]
// On the host only the pure helpers are used; the boot path that reaches the rest is bare-metal only.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

#[cfg(target_os = "none")]
pub mod acpi;
pub mod apic;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
mod boot_stack;
#[cfg(target_os = "none")]
mod cpu_init;
#[cfg(target_os = "none")]
pub mod entry;
pub mod fixed_heap;
pub mod gdt;
pub mod guard;
pub mod guest_ram;
mod halt;
pub mod idt;
mod irq;
pub mod machine_check;
pub mod msr;
pub mod multiboot;
pub mod paging;
pub mod percpu;
pub mod phys;
pub mod pic;
pub mod serial;
pub mod smp;
pub mod stack;
mod stack_probe;
pub mod sync;
#[cfg(all(feature = "test-hooks", target_os = "none"))]
pub mod test_hooks;
pub mod ticket;
pub mod trampoline;
pub mod vmx;
pub mod xcr;

#[cfg(target_os = "none")]
pub use halt::fatal;
pub use halt::halt_forever;
pub use percpu::Cpu;

/// Result registers of CPUID (tessera-vmx's type, which its CPUID emulation takes as the host answer).
pub use tessera_vmx::cpuid::CpuidResult;

/// Executes CPUID with `leaf` and `subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidResult {
    #[allow(unused_unsafe)] // `__cpuid_count` is safe on newer toolchains, unsafe on older ones.
    // SAFETY: CPUID only reads processor information; every x86_64 CPU has it.
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
    CpuidResult {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// The time-stamp counter (cycles; in the emulator it advances with emulated instructions).
pub fn tsc_cycles() -> u64 {
    #[allow(unused_unsafe)] // `_rdtsc` is safe on newer toolchains, unsafe on older ones.
    // SAFETY: RDTSC only reads a counter (CR4.TSD is clear: Tessera runs at CPL 0 anyway).
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}
