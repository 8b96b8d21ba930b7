//! Guarded instructions: each runs once with the vCPU's resume slot armed (`idt::resume_slot`), so
//! an exception it raises (for example the #GP or #UD the hypervisor injects) is recorded and the
//! guest resumes right after it. Each returns the vector raised, `None` if it completed. Like
//! `cpu`, this file holds `unsafe` code, each block with its argument.

use crate::cpu::current_vcpu;
use crate::idt;
use core::arch::{asm, global_asm};
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

/// Vector of the DPL-3 gate that brings [`vmcall_from_user`] back to CPL 0.
pub const USER_RETURN_VECTOR: u8 = 0xFD;
/// Selectors of the GDT [`vmcall_from_user`] loads: the boot GDT's code (0x08) and data (0x10),
/// then user data (0x18, RPL 3 = 0x1B), user code (0x20, RPL 3 = 0x23) and a TSS (0x28).
const USER_DATA_SELECTOR: u64 = 0x1B;
const USER_CODE_SELECTOR: u64 = 0x23;
const TSS_SELECTOR: u16 = 0x28;

/// The GDT: null, 64-bit code DPL 0, data DPL 0, data DPL 3, 64-bit code DPL 3, TSS (16 bytes).
static USER_GDT: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
/// The 104-byte TSS: RSP0 (bytes 4..12) is written before each trip to CPL 3; no I/O bitmap.
static USER_TSS: [AtomicU64; 13] = [const { AtomicU64::new(0) }; 13];

// `tessera_guest_user_vmcall(slot = RDI, rsp0 field = RDX)`: saves the callee-saved registers and
// RSP, sets TSS.RSP0 1 KiB below RSP and a user stack 16 KiB below it (both in this vCPU's own
// stack), IRETQs to CPL 3 with interrupts as they were, arms the resume slot there, executes
// VMCALL STOP with status 7, and, resumed after it, returns to CPL 0 through the DPL-3 gate
// `USER_RETURN_VECTOR`, whose handler `tessera_guest_user_return` restores RSP, the data
// segments and the saved registers and returns to the caller. Only one vCPU may run it at a time
// (one saved RSP).
global_asm!(
    ".pushsection .bss.tessera_guest_user, \"aw\", @nobits",
    ".balign 8",
    "tessera_guest_saved_rsp: .quad 0",
    ".popsection",
    ".pushsection .text.tessera_guest_user, \"ax\"",
    ".global tessera_guest_user_vmcall",
    "tessera_guest_user_vmcall:",
    "    push rbx",
    "    push rbp",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rip + tessera_guest_saved_rsp], rsp",
    "    lea rax, [rsp - 1024]",
    "    and rax, -16",
    "    mov [rdx], rax",
    "    lea rsi, [rsp - 16384]",
    "    and rsi, -16",
    "    push {user_ss}",
    "    push rsi",
    "    pushfq",
    "    push {user_cs}",
    "    lea rax, [rip + 3f]",
    "    push rax",
    "    iretq",
    "3:  lea rax, [rip + 4f]",
    "    mov [rdi], rax",
    "    mov eax, {stop}",
    "    mov ebx, 7",
    "    vmcall",
    "4:  int {vector}",
    ".global tessera_guest_user_return",
    "tessera_guest_user_return:",
    "    mov rsp, [rip + tessera_guest_saved_rsp]",
    "    mov ax, 0x10",
    "    mov ds, ax",
    "    mov es, ax",
    "    mov ss, ax",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbp",
    "    pop rbx",
    "    ret",
    ".popsection",
    user_ss = const USER_DATA_SELECTOR,
    user_cs = const USER_CODE_SELECTOR,
    stop = const tessera_vmx::guest_abi::HYPERCALL_STOP,
    vector = const USER_RETURN_VECTOR,
);

/// VMCALL (STOP with status 7) executed at CPL 3: Tessera must refuse it with #UD instead of
/// stopping the vCPU. Opens the first GiB of the identity map to CPL 3, loads a GDT with user
/// segments and a TSS, and a DPL-3 gate to come back; returns the vector the VMCALL raised.
/// Call once per vCPU, on one vCPU at a time.
pub fn vmcall_from_user(info: &tessera_vmx::guest_abi::BootInfo) -> Option<u8> {
    crate::paging::open_first_gib_to_user(info);
    let tss = USER_TSS.as_ptr() as u64;
    USER_TSS[12].store(104 << 48, core::sync::atomic::Ordering::Release);
    let tss_low = 0x67 | (tss & 0xFF_FFFF) << 16 | 0x89 << 40 | (tss >> 24 & 0xFF) << 56;
    let words = [
        0,
        0x00AF_9B00_0000_FFFF,
        0x00CF_9300_0000_FFFF,
        0x00CF_F300_0000_FFFF,
        0x00AF_FB00_0000_FFFF,
        tss_low,
        tss >> 32,
    ];
    for (slot, word) in USER_GDT.iter().zip(words) {
        slot.store(word, core::sync::atomic::Ordering::Release);
    }
    let mut pointer = [0u8; 10];
    pointer[..2].copy_from_slice(&(7u16 * 8 - 1).to_le_bytes());
    pointer[2..].copy_from_slice(&(USER_GDT.as_ptr() as u64).to_le_bytes());
    let handler: u64;
    // SAFETY: the new GDT keeps the boot GDT's code (0x08) and data (0x10) descriptors at the same
    // selectors, so the loaded CS and SS stay valid; LTR marks the new (available) TSS busy; LEA
    // only computes the handler's address.
    unsafe {
        asm!("lgdt [{}]", in(reg) pointer.as_ptr(), options(readonly, nostack));
        asm!("ltr {0:x}", in(reg) TSS_SELECTOR, options(nomem, nostack));
        asm!("lea {}, [rip + tessera_guest_user_return]", out(reg) handler, options(nomem, nostack));
    }
    idt::set_user_gate(USER_RETURN_VECTOR, handler);
    let rsp0_field = tss + 4;
    guarded(|slot| {
        // SAFETY: the routine above saves and restores every callee-saved register and RSP; at
        // CPL 3 it runs only its own instructions on a stack inside this vCPU's stack slot, and
        // comes back through the gate it was given; the C ABI's caller-saved registers are
        // declared clobbered.
        unsafe {
            asm!("call tessera_guest_user_vmcall", in("rdi") slot.as_ptr(), in("rdx") rsp0_field,
                 clobber_abi("C"));
        }
    })
}
