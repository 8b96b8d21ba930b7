//! Guarded instructions: each runs once with the vCPU's resume slot armed (`idt::resume_slot`), so
//! an exception it raises (for example the #GP or #UD the hypervisor injects) is recorded and the
//! guest resumes right after it. Each returns the vector raised, `None` if it completed. Like
//! `cpu`, this file holds `unsafe` code, each block with its argument.

use crate::idt;
use crate::layout::current_vcpu;
use core::arch::asm;
use core::sync::atomic::AtomicU64;

/// A VMX instruction (each exits in VMX non-root operation or raises #UD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmxInstruction {
    Vmxon,
    Vmclear,
    Vmptrld,
    Vmptrst,
    Vmread,
    Vmwrite,
    Vmlaunch,
    Vmresume,
    Vmxoff,
    Invept,
    Invvpid,
    Vmfunc,
}

impl VmxInstruction {
    pub const ALL: [VmxInstruction; 12] = [
        VmxInstruction::Vmxon,
        VmxInstruction::Vmclear,
        VmxInstruction::Vmptrld,
        VmxInstruction::Vmptrst,
        VmxInstruction::Vmread,
        VmxInstruction::Vmwrite,
        VmxInstruction::Vmlaunch,
        VmxInstruction::Vmresume,
        VmxInstruction::Vmxoff,
        VmxInstruction::Invept,
        VmxInstruction::Invvpid,
        VmxInstruction::Vmfunc,
    ];
}

/// Runs `body` (which must store the address after its instruction into the slot it is given and
/// then execute it) and returns the exception vector it raised, if any.
fn guarded(body: impl FnOnce(&AtomicU64)) -> Option<u8> {
    let vcpu = current_vcpu();
    let _ = idt::take_caught(vcpu);
    body(idt::resume_slot(vcpu));
    idt::take_caught(vcpu)
}

/// XSETBV with ECX = `index`, EDX:EAX = `value`.
pub fn xsetbv(index: u32, value: u64) -> Option<u8> {
    guarded(|slot| {
        // SAFETY: XSETBV changes which extended state components this vCPU may use; the guest is
        // built without SSE, so no compiled code depends on XCR0. A fault resumes at label 2.
        unsafe {
            asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "xsetbv", "2:",
                 slot = in(reg) slot.as_ptr(), t = out(reg) _,
                 in("ecx") index, in("eax") value as u32, in("edx") (value >> 32) as u32,
                 options(nostack));
        }
    })
}

/// XGETBV of XCR0, or the vector it raised (#UD while CR4.OSXSAVE is clear).
pub fn xgetbv() -> Result<u64, u8> {
    let (mut low, mut high) = (0u32, 0u32);
    let fault = guarded(|slot| {
        // SAFETY: XGETBV only reads XCR0 into EDX:EAX. A fault resumes at label 2 (EAX and EDX
        // keep the zeros they held).
        unsafe {
            asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "xgetbv", "2:",
                 slot = in(reg) slot.as_ptr(), t = out(reg) _,
                 in("ecx") 0u32, inout("eax") low, inout("edx") high, options(nostack));
        }
    });
    match fault {
        None => Ok(u64::from(high) << 32 | u64::from(low)),
        Some(vector) => Err(vector),
    }
}

/// Sets CR4.OSXSAVE (bit 18), as an OS enabling XSAVE does.
pub fn enable_osxsave() -> Option<u8> {
    guarded(|slot| {
        // SAFETY: OSXSAVE only enables XSAVE/XGETBV/XSETBV and the AVX encodings; it changes no
        // memory mapping. A fault resumes at label 2.
        unsafe {
            asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}",
                 "mov {c}, cr4", "or {c}, {bit}", "mov cr4, {c}", "2:",
                 slot = in(reg) slot.as_ptr(), t = out(reg) _, c = out(reg) _,
                 bit = const 1u64 << 18, options(nostack));
        }
    })
}

/// An AVX instruction on YMM0 (#UD unless XCR0 enables AVX state and CR4.OSXSAVE is set).
pub fn avx_instruction() -> Option<u8> {
    guarded(|slot| {
        // SAFETY: the guest is built without SSE, so no compiled code keeps a value in YMM0. A
        // fault resumes at label 2.
        unsafe {
            asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "vpxor ymm0, ymm0, ymm0", "2:",
                 slot = in(reg) slot.as_ptr(), t = out(reg) _, options(nostack));
        }
    })
}

/// INVD (`writeback = false`) or WBINVD (`true`).
pub fn flush_caches(writeback: bool) -> Option<u8> {
    guarded(|slot| {
        // SAFETY: under Tessera both exit and complete without touching the caches; on a CPU
        // running them natively, WBINVD keeps memory coherent, and INVD is never reached there
        // (the scenario runs in a partition).
        unsafe {
            if writeback {
                asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "wbinvd", "2:",
                     slot = in(reg) slot.as_ptr(), t = out(reg) _, options(nostack));
            } else {
                asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "invd", "2:",
                     slot = in(reg) slot.as_ptr(), t = out(reg) _, options(nostack));
            }
        }
    })
}

/// One VMX instruction, with memory operands in a scratch buffer of its own.
pub fn vmx(instruction: VmxInstruction) -> Option<u8> {
    let mut scratch = [0u64; 4];
    let memory = scratch.as_mut_ptr();
    guarded(|slot| {
        // SAFETY: every memory operand is `scratch` (32 bytes, enough for a 16-byte descriptor or
        // an 8-byte VMCS pointer); register operands are declared clobbered. Outside VMX operation
        // these raise #UD or exit; a fault resumes at label 2.
        unsafe {
            macro_rules! probe {
                ($text:literal) => {
                    asm!("test {m}, {m}", "lea {t}, [rip + 2f]", "mov [{slot}], {t}", $text, "2:",
                         slot = in(reg) slot.as_ptr(), t = out(reg) _, m = in(reg) memory,
                         inout("rax") 0u64 => _, inout("rcx") 0u64 => _, options(nostack))
                };
            }
            match instruction {
                VmxInstruction::Vmxon => probe!("vmxon qword ptr [{m}]"),
                VmxInstruction::Vmclear => probe!("vmclear qword ptr [{m}]"),
                VmxInstruction::Vmptrld => probe!("vmptrld qword ptr [{m}]"),
                VmxInstruction::Vmptrst => probe!("vmptrst qword ptr [{m}]"),
                VmxInstruction::Vmread => probe!("vmread rcx, rax"),
                VmxInstruction::Vmwrite => probe!("vmwrite rax, rcx"),
                VmxInstruction::Vmlaunch => probe!("vmlaunch"),
                VmxInstruction::Vmresume => probe!("vmresume"),
                VmxInstruction::Vmxoff => probe!("vmxoff"),
                VmxInstruction::Invept => probe!("invept rax, xmmword ptr [{m}]"),
                VmxInstruction::Invvpid => probe!("invvpid rax, xmmword ptr [{m}]"),
                VmxInstruction::Vmfunc => probe!("vmfunc"),
            }
        }
    })
}

/// WRMSR of `value` to x2APIC register `msr` (0x800-0x8FF) where the write may fault (an ICR value
/// with reserved bits raises #GP): the vector raised, `None` if the write completed.
pub fn write_x2apic(msr: u32, value: u64) -> Option<u8> {
    assert!(
        (0x800..=0x8FF).contains(&msr),
        "MSR {msr:#x} is not an x2APIC register"
    );
    guarded(|slot| {
        // SAFETY: x2APIC registers change interrupt delivery, not memory (as `cpu::write_x2apic`);
        // interrupts reach only the guest's stubs, which preserve every register. A fault resumes
        // at label 2.
        unsafe {
            asm!("lea {t}, [rip + 2f]", "mov [{slot}], {t}", "wrmsr", "2:",
                 slot = in(reg) slot.as_ptr(), t = out(reg) _,
                 in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
                 options(nostack));
        }
    })
}
