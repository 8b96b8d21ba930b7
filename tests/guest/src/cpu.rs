//! Every instruction a test guest executes that Rust cannot express safely: the entry point,
//! VMCALL, MSR and port access, the IDT and its stubs, HLT/STI, CR3/INVLPG and raw memory probes.
//! With `fault_probe` (guarded instructions), this is the only file of the guest crates with
//! `unsafe`; each function argues its safety so the
//! rest of the crate (and every guest) is safe code.

use core::arch::{asm, global_asm};
use core::sync::atomic::AtomicU64;
use tessera_vmx::guest_abi::BootInfo;

use crate::layout::{vcpu_of_stack, MAX_VCPUS, STACK_BYTES};

/// One stack per vCPU, indexed by the boot-info `vcpu_index`; `_start` picks the slot.
#[repr(C, align(16))]
pub struct Stacks([[u8; STACK_BYTES]; MAX_VCPUS]);

/// The vCPU stacks (in .bss; only `_start` and the stack-slot arithmetic in `layout` use them).
#[no_mangle]
pub static mut TESSERA_GUEST_STACKS: Stacks = Stacks([[0; STACK_BYTES]; MAX_VCPUS]);

// Entry: RDI = guest-physical (= linear) address of this vCPU's boot-info block, 64-bit mode,
// identity paging. `vcpu_index` is at offset 16 of the block. A vCPU whose index has no stack
// slot stops itself at once (STOP hypercall with `STATUS_NO_STACK`; it cannot print without a stack).
#[cfg(target_os = "none")]
global_asm!(
    ".pushsection .text.entry, \"ax\"",
    ".global _start",
    "_start:",
    "    cli",
    "    mov eax, dword ptr [rdi + 16]",
    "    cmp eax, {max_vcpus}",
    "    jae 2f",
    "    inc rax",
    "    imul rax, rax, {stack_bytes}",
    "    lea rsp, [rip + {stacks}]",
    "    add rsp, rax",
    "    xor ebp, ebp",
    "    call tessera_guest_entry",
    "2:  mov eax, {stop}",
    "    mov ebx, {no_stack}",
    "    vmcall",
    "3:  hlt",
    "    jmp 3b",
    ".popsection",
    max_vcpus = const MAX_VCPUS,
    stack_bytes = const STACK_BYTES,
    stacks = sym TESSERA_GUEST_STACKS,
    stop = const tessera_vmx::guest_abi::HYPERCALL_STOP,
    no_stack = const crate::status::STATUS_NO_STACK,
);

// Interrupt stubs, one per vector, 16 bytes apart from the table's first byte, each table in a
// section of its own that the linker leaves out of a guest that never refers to it: all 256
// vectors from `tessera_guest_vectors` (`idt::install`), or only the exceptions and NMI (vectors
// 0-31) from `tessera_guest_exception_vectors` (`idt::install_exceptions`, for a guest that never
// enables interrupts). Each stub pushes a zero error code where the CPU pushes none (every vector
// but the exceptions of `exception::ERROR_CODE_VECTORS`), then its vector, and joins its table's
// common path, which saves the caller-saved registers (guests are built without SSE), reads the
// TSC, calls `tessera_guest_interrupt` (vector, error code, interrupted RIP, TSC at entry), puts a
// non-zero result in place of the interrupted RIP (resuming after a guarded instruction),
// restores the registers and returns with IRETQ. Both tables are the same text but for their
// names and length.
macro_rules! vector_stubs {
    ($section:literal, $table:literal, $common:literal, $vectors:literal) => {
        global_asm!(
            concat!(".pushsection ", $section, ", \"ax\""),
            ".balign 16",
            // Global: code in another codegen unit of this crate (`*_stubs_address`) refers to it.
            concat!(".global ", $table),
            concat!($table, ":"),
            ".set tessera_guest_vector, 0",
            concat!(".rept ", $vectors),
            "    .balign 16",
            // No error code pushed by the CPU (`exception::ERROR_CODE_VECTORS`): push a zero one.
            "    .if tessera_guest_vector < 32",
            "    .if (({error_code_vectors} >> tessera_guest_vector) & 1) == 0",
            "    push 0",
            "    .endif",
            "    .else",
            "    push 0",
            "    .endif",
            "    push tessera_guest_vector",
            concat!("    jmp ", $common),
            "    .set tessera_guest_vector, tessera_guest_vector + 1",
            ".endr",
            concat!($common, ":"),
            "    push rax",
            "    push rcx",
            "    push rdx",
            "    push rsi",
            "    push rdi",
            "    push r8",
            "    push r9",
            "    push r10",
            "    push r11",
            "    rdtsc",
            "    shl rdx, 32",
            "    or rax, rdx",
            "    mov rcx, rax",
            "    mov rdi, [rsp + 72]",
            "    mov rsi, [rsp + 80]",
            "    mov rdx, [rsp + 88]",
            "    cld",
            "    call tessera_guest_interrupt",
            "    test rax, rax",
            "    jz 1f",
            "    mov [rsp + 88], rax",
            "1:  pop r11",
            "    pop r10",
            "    pop r9",
            "    pop r8",
            "    pop rdi",
            "    pop rsi",
            "    pop rdx",
            "    pop rcx",
            "    pop rax",
            "    add rsp, 16",
            "    iretq",
            ".popsection",
            error_code_vectors = const crate::exception::ERROR_CODE_VECTORS,
        );
    };
}

vector_stubs!(
    ".text.tessera_guest_vectors",
    "tessera_guest_vectors",
    "tessera_guest_interrupt_common",
    "256"
);
#[cfg(feature = "compact")]
vector_stubs!(
    ".text.tessera_guest_exception_vectors",
    "tessera_guest_exception_vectors",
    "tessera_guest_exception_common",
    "32"
);

/// Bytes between two interrupt stubs.
pub const STUB_BYTES: u64 = 16;
/// The first vector after the exceptions and NMI (the exception-only table ends before it).
pub const FIRST_INTERRUPT_VECTOR: u8 = 32;

/// Address of the vCPU stack array (for mapping a stack address back to its vCPU).
pub fn stacks_address() -> u64 {
    core::ptr::addr_of!(TESSERA_GUEST_STACKS) as u64
}

/// The vCPU running this code (from the address of a local variable on its stack).
pub fn current_vcpu() -> usize {
    let marker = 0u8;
    let here = core::ptr::addr_of!(marker) as u64;
    vcpu_of_stack(stacks_address(), here).unwrap_or(0)
}

/// The boot-info block at `address`, if the address is non-null and aligned for it.
pub fn boot_info(address: u64) -> Option<&'static BootInfo> {
    let aligned = address.is_multiple_of(core::mem::align_of::<BootInfo>() as u64);
    if address == 0 || !aligned {
        return None;
    }
    // SAFETY: the hypervisor hands each vCPU the address of its own boot-info page (RDI at entry),
    // identity-mapped, inside the partition's boot area above the image; nothing in the guest
    // writes that page, so a shared `'static` reference to it is sound. Alignment checked above.
    Some(unsafe { &*(address as *const BootInfo) })
}

/// VMCALL with RAX = `number`, RBX/RCX/RDX = arguments; returns RAX.
/// The one hypercall that writes guest memory (the exit-counters array) is refused here: it goes
/// through [`vmcall_exit_counters`] or [`vmcall_exit_counters_outside`], which own their buffer.
pub fn vmcall(number: u64, rbx: u64, rcx: u64, rdx: u64) -> u64 {
    assert!(
        number != tessera_vmx::guest_abi::HYPERCALL_READ_EXIT_COUNTERS,
        "the exit-counters hypercall writes memory: use vmcall_exit_counters"
    );
    raw_vmcall(number, rbx, rcx, rdx)
}

/// The exit-counters hypercall into `buffer`, starting `byte_offset` bytes in, asking for
/// `entries` counters. The buffer must hold what is asked for (asserted), so whatever the
/// hypervisor writes lands in it. Returns RAX.
pub fn vmcall_exit_counters(buffer: &mut [u64], byte_offset: usize, entries: u64) -> u64 {
    let asked_bytes = byte_offset as u64 + 8 * entries;
    assert!(
        asked_bytes <= 8 * buffer.len() as u64,
        "counter buffer too small"
    );
    let address = buffer.as_mut_ptr() as u64 + byte_offset as u64;
    raw_vmcall(
        tessera_vmx::guest_abi::HYPERCALL_READ_EXIT_COUNTERS,
        address,
        entries,
        0,
    )
}

/// The exit-counters hypercall aimed at `address..+8*entries` wholly outside the partition's
/// memory (hostile tests: the hypervisor must refuse it). Returns RAX.
pub fn vmcall_exit_counters_outside(info: &BootInfo, address: u64, entries: u64) -> u64 {
    let end = address.checked_add(8 * entries).expect("range wraps");
    let memory_end = info.memory_guest_base + info.memory_bytes;
    assert!(
        end <= info.memory_guest_base || address >= memory_end,
        "{address:#x} is inside the partition"
    );
    raw_vmcall(
        tessera_vmx::guest_abi::HYPERCALL_READ_EXIT_COUNTERS,
        address,
        entries,
        0,
    )
}

fn raw_vmcall(number: u64, rbx: u64, rcx: u64, rdx: u64) -> u64 {
    let result: u64;
    // SAFETY: Tessera's hypercalls read guest memory (a console buffer the caller passes) and
    // registers, and return a value in RAX; STOP does not return. The only one that writes guest
    // memory, the exit-counters call, reaches here with a buffer its caller owns or with a range
    // outside the partition (see the two functions above). RBX is reserved by LLVM, so it is
    // swapped in and out around the instruction.
    unsafe {
        asm!(
            "xchg rbx, {rbx}",
            "vmcall",
            "xchg rbx, {rbx}",
            rbx = inout(reg) rbx => _,
            inout("rax") number => result,
            in("rcx") rcx,
            in("rdx") rdx,
            options(nostack),
        );
    }
    result
}

/// RDMSR. Reading an MSR never changes guest memory; a denied one makes the hypervisor stop the
/// vCPU, an absent one raises #GP (reported by the guest's IDT).
pub fn read_msr(msr: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: RDMSR writes only EDX:EAX; no memory is touched.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") low, out("edx") high, options(nomem, nostack));
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// WRMSR to an x2APIC register (MSRs 0x800-0x8FF): the guest's own (virtual) local APIC.
pub fn write_x2apic(msr: u32, value: u64) {
    assert!(
        (0x800..=0x8FF).contains(&msr),
        "MSR {msr:#x} is not an x2APIC register"
    );
    // SAFETY: x2APIC registers change interrupt delivery, not memory; interrupts reach only the
    // stubs above, which preserve every register they use.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack));
    }
}

/// WRMSR IA32_TSC_DEADLINE (0x6E0): arms the local APIC timer in TSC-deadline mode (0 disarms).
pub fn write_tsc_deadline(value: u64) {
    // SAFETY: the deadline MSR only schedules a timer interrupt, which reaches the stubs above (they
    // preserve every register they use); no memory is touched.
    unsafe {
        asm!("wrmsr", in("ecx") 0x6E0u32, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nomem, nostack));
    }
}

/// WRMSR to any MSR, for isolation tests: the manifest denies it, so the hypervisor stops the vCPU.
pub fn write_msr_expecting_stop(msr: u32, value: u64) {
    // SAFETY: called only on MSRs outside what the hypervisor passes through; the write exits and
    // the vCPU is stopped, so it never takes effect. Were it to take effect, the tests use MSRs and
    // values whose write leaves memory untouched (IA32_SYSENTER_CS, IA32_MC0_STATUS = 0,
    // IA32_SPEC_CTRL = IBRS, IA32_MTRR_DEF_TYPE = write-back, IA32_DEBUGCTL = 0, the TSC).
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack));
    }
}

/// IN AL from `port`. Port reads change no guest memory; a denied port exits to the hypervisor.
pub fn read_port_u8(port: u16) -> u8 {
    let value: u8;
    // SAFETY: IN writes only AL.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack));
    }
    value
}

/// CPUID `leaf`/`subleaf`: EAX, EBX, ECX, EDX (the hypervisor emulates it: virtual APIC ID,
/// hypervisor leaves).
pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let (eax, ebx, ecx, edx): (u32, u32, u32, u32);
    // SAFETY: CPUID writes only EAX-EDX; RBX is reserved by LLVM, so it is saved around it.
    unsafe {
        asm!(
            "mov {rbx_copy:r}, rbx",
            "cpuid",
            "xchg {rbx_copy:r}, rbx",
            rbx_copy = out(reg) ebx,
            inout("eax") leaf => eax,
            inout("ecx") subleaf => ecx,
            out("edx") edx,
            options(nomem, nostack),
        );
    }
    [eax, ebx, ecx, edx]
}

/// Time-stamp counter (advances with emulated instructions in the emulator).
pub fn rdtsc() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: RDTSC writes only EDX:EAX.
    unsafe {
        asm!("rdtsc", out("eax") low, out("edx") high, options(nomem, nostack));
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// CR3: the guest-physical address of the PML4 (the start of the boot area).
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effect.
    unsafe {
        asm!("mov {}, cr3", out(reg) value, options(nomem, nostack));
    }
    value
}

/// Loads the IDT at `table` (256 16-byte gates) into this vCPU's IDTR.
pub fn load_idt(table: &'static [AtomicU64; 512]) {
    let mut pointer = [0u8; 10];
    pointer[..2].copy_from_slice(&(512u16 * 8 - 1).to_le_bytes());
    pointer[2..].copy_from_slice(&(table.as_ptr() as u64).to_le_bytes());
    // SAFETY: the table is static and only ever holds gates that `idt` builds for the stubs in
    // this file (or not-present gates), so every delivered vector lands in a stub.
    unsafe {
        asm!("lidt [{}]", in(reg) pointer.as_ptr(), options(readonly, nostack));
    }
}

/// First byte of the stubs of all 256 vectors (stub `v` starts at `+ STUB_BYTES * v`);
/// referring to it links them in.
pub fn vector_stubs_address() -> u64 {
    let address: u64;
    // SAFETY: LEA only computes an address.
    unsafe {
        asm!("lea {}, [rip + tessera_guest_vectors]", out(reg) address, options(nomem, nostack));
    }
    address
}

/// First byte of the exception-only stubs (stub `v`, for vectors 0-31, starts at
/// `+ STUB_BYTES * v`); referring to it links them in.
#[cfg(feature = "compact")]
pub fn exception_stubs_address() -> u64 {
    let address: u64;
    // SAFETY: LEA only computes an address.
    unsafe {
        asm!(
            "lea {}, [rip + tessera_guest_exception_vectors]",
            out(reg) address,
            options(nomem, nostack)
        );
    }
    address
}

/// The code segment selector in use (the hypervisor's guest GDT).
pub fn code_selector() -> u16 {
    let selector: u16;
    // SAFETY: reading CS has no side effect.
    unsafe {
        asm!("mov {:x}, cs", out(reg) selector, options(nomem, nostack));
    }
    selector
}

/// STI; HLT: waits for the next interrupt with interrupts enabled (the IDT must be loaded).
pub fn enable_interrupts_and_halt() {
    // SAFETY: the only interrupts that can arrive run the stubs above (the callers load the IDT
    // first); STI's one-instruction shadow makes the pair atomic against a lost wake-up.
    unsafe { asm!("sti; hlt", options(nomem, nostack)) }
}

/// STI: lets interrupts in (the IDT must be loaded).
pub fn enable_interrupts() {
    // SAFETY: as in `enable_interrupts_and_halt`.
    unsafe { asm!("sti", options(nomem, nostack)) }
}

/// CLI.
pub fn disable_interrupts() {
    // SAFETY: masking interrupts has no memory effect.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

/// HLT with interrupts as they are (forever if masked; the vCPU's CPU is idle, not the hypervisor's).
pub fn halt() {
    // SAFETY: HLT only waits.
    unsafe { asm!("hlt", options(nomem, nostack)) }
}

/// INVLPG `address`: drops the TLB entry after a page-table edit.
pub fn invalidate_page(address: u64) {
    // SAFETY: INVLPG only invalidates a translation; it does not access the address.
    unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack)) }
}

/// Writes a page-table word of the boot area (CR3 up to the end of partition memory), which no
/// Rust object occupies (the image ends below it).
pub fn write_page_table_word(info: &BootInfo, address: u64, value: u64) {
    let end = info.memory_guest_base + info.memory_bytes;
    assert!(address >= read_cr3() && address + 8 <= end && address.is_multiple_of(8));
    // SAFETY: checked to lie in the boot area, which the image and its stacks never overlap, and
    // to be aligned; identity paging makes the address usable as a pointer.
    unsafe { core::ptr::write_volatile(address as *mut u64, value) }
}

/// Reads a word of the boot area (see [`write_page_table_word`]).
pub fn read_page_table_word(info: &BootInfo, address: u64) -> u64 {
    let end = info.memory_guest_base + info.memory_bytes;
    assert!(address >= read_cr3() && address + 8 <= end && address.is_multiple_of(8));
    // SAFETY: as in `write_page_table_word`; a volatile read of plain memory.
    unsafe { core::ptr::read_volatile(address as *const u64) }
}

/// Reads 8 bytes at `address` outside the partition's memory: the hypervisor must stop the vCPU.
pub fn read_outside(info: &BootInfo, address: u64) -> u64 {
    assert!(
        outside(info, address),
        "{address:#x} is inside the partition"
    );
    // SAFETY: the address is outside the partition's memory, so it aliases no Rust object; the
    // guest must map it first (or it faults in the guest) and EPT makes the access exit.
    unsafe { core::ptr::read_volatile(address as *const u64) }
}

/// Writes 8 bytes at `address` outside the partition's memory (see [`read_outside`]).
pub fn write_outside(info: &BootInfo, address: u64, value: u64) {
    assert!(
        outside(info, address),
        "{address:#x} is inside the partition"
    );
    // SAFETY: as in `read_outside`.
    unsafe { core::ptr::write_volatile(address as *mut u64, value) }
}

/// Jumps to `address` outside the partition's memory (isolation tests): the instruction fetch
/// must make the hypervisor stop the vCPU. Returns never; if the fetch were let through, whatever
/// runs there is not this guest's code.
pub fn jump_outside(info: &BootInfo, address: u64) -> ! {
    assert!(
        outside(info, address),
        "{address:#x} is inside the partition"
    );
    // SAFETY: the target is outside the partition's memory, mapped by the guest's own tables only
    // so that the fetch reaches EPT, which has no mapping there: the hypervisor stops the vCPU.
    unsafe { asm!("jmp {}", in(reg) address, options(noreturn)) }
}

/// Triple-faults this vCPU: loads an empty IDT and raises #BP, which cannot be delivered (#GP),
/// nor can the #GP (double fault), nor the double fault (shutdown). The hypervisor stops the vCPU.
pub fn triple_fault() -> ! {
    let empty = [0u8; 10];
    // SAFETY: with a zero-limit IDT no handler runs, so no guest state is touched: the processor
    // goes to shutdown, which exits to the hypervisor (triple fault) and the vCPU never resumes.
    unsafe {
        asm!("lidt [{}]", "int3", "ud2", in(reg) empty.as_ptr(), options(noreturn));
    }
}

fn outside(info: &BootInfo, address: u64) -> bool {
    let end = info.memory_guest_base + info.memory_bytes;
    address.saturating_add(8) <= info.memory_guest_base || address >= end
}

/// With RFLAGS.TF set, `mov ss` (which holds the single-step trap back for one instruction) then
/// CPUID (which exits to the hypervisor), then TF cleared again. Returns the address right after
/// CPUID, where the first #DB must arrive (the IDT must count exceptions: each instruction while
/// TF is set traps, four in all).
pub fn single_step_mov_ss_cpuid() -> u64 {
    let after_cpuid: u64;
    // SAFETY: SS is reloaded with its own selector; CPUID writes EAX-EDX (RBX saved around it on
    // the stack, which the #DB frames also use: the target has no red zone); TF only makes the
    // guest's own IDT count #DB traps, and it is cleared before the block ends.
    unsafe {
        asm!(
            "lea {after}, [rip + 2f]",
            "push rbx",
            "mov {ss:x}, ss",
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "mov ss, {ss:x}",
            "cpuid",
            "2:",
            "pushfq",
            "and qword ptr [rsp], -0x101",
            "popfq",
            "pop rbx",
            after = out(reg) after_cpuid,
            ss = out(reg) _,
            inout("eax") 0u32 => _,
            inout("ecx") 0u32 => _,
            out("edx") _,
        );
    }
    after_cpuid
}

/// As [`single_step_mov_ss_cpuid`] with VMCALL `number` (a hypercall without arguments that only
/// reads, such as the denied-IPI count) instead of CPUID. Returns the address right after VMCALL
/// and the hypercall's RAX.
pub fn single_step_mov_ss_vmcall(number: u64) -> (u64, u64) {
    assert!(
        number == tessera_vmx::guest_abi::HYPERCALL_READ_DENIED_IPIS,
        "only a hypercall that reads nothing from memory"
    );
    let (after_vmcall, result): (u64, u64);
    // SAFETY: as in `single_step_mov_ss_cpuid`; the hypercall (checked above) only returns a count
    // in RAX.
    unsafe {
        asm!(
            "lea {after}, [rip + 2f]",
            "mov {ss:x}, ss",
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "mov ss, {ss:x}",
            "vmcall",
            "2:",
            "pushfq",
            "and qword ptr [rsp], -0x101",
            "popfq",
            after = out(reg) after_vmcall,
            ss = out(reg) _,
            inout("rax") number => result,
        );
    }
    (after_vmcall, result)
}

/// With interrupts masked on entry: STI, then CPUID (which exits) inside STI's one-instruction
/// shadow, a NOP, then CLI. An interrupt already pending must arrive right after CPUID, at the
/// returned address, as the shadow ended with it.
pub fn sti_shadow_cpuid() -> u64 {
    let after_cpuid: u64;
    // SAFETY: CPUID writes EAX-EDX (RBX saved around it); the interrupt that arrives runs a stub
    // of this file, which preserves every register it uses; interrupts are masked again at the end.
    unsafe {
        asm!(
            "lea {after}, [rip + 2f]",
            "push rbx",
            "sti",
            "cpuid",
            "2:",
            "nop",
            "cli",
            "pop rbx",
            after = out(reg) after_cpuid,
            inout("eax") 0u32 => _,
            inout("ecx") 0u32 => _,
            out("edx") _,
        );
    }
    after_cpuid
}

/// The words of a channel this partition maps, as its boot-info block lists it: the ring, then
/// the acknowledgement pages this side maps (the writer: every reader's; a reader: its own).
pub fn channel_words(
    channel: &tessera_vmx::guest_abi::BootChannel,
) -> (&'static [AtomicU64], &'static [AtomicU64]) {
    use tessera_vmx::guest_abi::ACK_PAGE_BYTES;
    let pages = if channel.is_writer() {
        u64::from(channel.reader_count)
    } else {
        1
    };
    let ring_words = (channel.ring_bytes / 8) as usize;
    let ack_words = (pages * ACK_PAGE_BYTES / 8) as usize;
    assert!(channel.guest_base.is_multiple_of(4096) && channel.ack_guest_base.is_multiple_of(4096));
    // SAFETY: the hypervisor maps exactly these ranges into this partition (EPT) and its boot page
    // tables identity-map them; they lie outside the partition's memory, so no Rust object aliases
    // them, and they live as long as the partition. Every access goes through atomics (other
    // partitions change the words concurrently). A store to a page this side maps read-only makes
    // the hypervisor stop the vCPU (the channel-hostile scenario does it on purpose).
    unsafe {
        (
            core::slice::from_raw_parts(channel.guest_base as *const AtomicU64, ring_words),
            core::slice::from_raw_parts(channel.ack_guest_base as *const AtomicU64, ack_words),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of vector `vector`'s interrupt stub, as assembled.
    fn stub(table: u64, vector: usize) -> [u8; STUB_BYTES as usize] {
        let address = table + STUB_BYTES * vector as u64;
        // SAFETY: the stubs are STUB_BYTES apart in this binary's code (read-only, readable,
        // alive for the whole run); reading them runs nothing.
        unsafe { core::ptr::read(address as *const [u8; STUB_BYTES as usize]) }
    }

    /// The value of the `push imm8` / `push imm32` that starts `code`, and its length.
    fn push_at(code: &[u8]) -> Option<(u64, usize)> {
        match code[0] {
            0x6A => Some((code[1] as i8 as u64, 2)),
            0x68 => Some((i32::from_le_bytes(code[1..5].try_into().ok()?) as u64, 5)),
            _ => None,
        }
    }

    #[test]
    fn each_stub_pushes_a_zero_error_code_exactly_where_the_cpu_pushes_none() {
        let all = (0..=255u8).map(|v| (vector_stubs_address(), v));
        #[cfg(feature = "compact")]
        let all = all.chain((0..FIRST_INTERRUPT_VECTOR).map(|v| (exception_stubs_address(), v)));
        for (table, vector) in all {
            let code = stub(table, usize::from(vector));
            let (first, length) = push_at(&code).expect("every stub starts with a push");
            let second = push_at(&code[length..]).map(|(value, _)| value);
            let (error_code, pushed) = match second {
                // The CPU's error code is on the stack: the stub pushes only its vector.
                None => (true, first),
                // A zero error code first, then the vector.
                Some(value) => {
                    assert_eq!(first, 0, "vector {vector}: a non-zero filler");
                    (false, value)
                }
            };
            assert_eq!(pushed, u64::from(vector), "vector {vector}: stub order");
            assert_eq!(
                error_code,
                crate::exception::pushes_error_code(vector),
                "vector {vector}"
            );
        }
    }
}
