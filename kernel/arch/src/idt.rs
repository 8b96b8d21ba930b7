//! The host IDT: every exception prints its vector, error code and RIP, reports failure and halts the
//! CPU; a page or double fault on a guard page is named as the stack overflow it is.

#[cfg(target_os = "none")]
use crate::gdt::FAULT_IST_INDEX;
use core::sync::atomic::AtomicBool;
#[cfg(target_os = "none")]
use core::sync::atomic::Ordering;
use x86_64::structures::idt::InterruptDescriptorTable;
#[cfg(target_os = "none")]
use x86_64::VirtAddr;

/// What the exception stubs push, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct ExceptionFrame {
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Name of exception `vector` (SDM Vol. 3A, Table 6-1).
pub fn exception_name(vector: u64) -> &'static str {
    const NAMES: [&str; 22] = [
        "#DE divide error",
        "#DB debug",
        "NMI",
        "#BP breakpoint",
        "#OF overflow",
        "#BR bound",
        "#UD invalid opcode",
        "#NM no FPU",
        "#DF double fault",
        "coprocessor overrun",
        "#TS invalid TSS",
        "#NP segment not present",
        "#SS stack fault",
        "#GP general protection",
        "#PF page fault",
        "reserved",
        "#MF x87 error",
        "#AC alignment check",
        "#MC machine check",
        "#XM SIMD error",
        "#VE virtualization",
        "#CP control protection",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("reserved")
}

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .text.exceptions, "ax"
    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
exc_stub_\v:
    push 0
    push \v
    jmp exc_common
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
exc_stub_\v:
    push \v
    jmp exc_common
    .endr
exc_common:
    mov rdi, rsp
    and rsp, -16
    call {handler}
    ud2

    .section .rodata.exceptions, "a"
    .balign 8
    .global tessera_exception_stubs
tessera_exception_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exc_stub_\v
    .endr
    .text
"#,
    handler = sym exception_handler,
);

#[cfg(target_os = "none")]
extern "C" {
    /// Addresses of the 32 exception entry stubs above.
    static tessera_exception_stubs: [u64; 32];
}

#[cfg(target_os = "none")]
extern "C" fn exception_handler(frame: &ExceptionFrame) -> ! {
    let cpu = crate::percpu::current_index_or_boot();
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    crate::serial::write_fmt_forced(format_args!(
        "\nEXCEPTION on cpu{cpu}: vector {} ({}), error code {:#x}, RIP {:#x}, RSP {:#x}, CR2 {cr2:#x}\n",
        frame.vector,
        exception_name(frame.vector),
        frame.error_code,
        frame.rip,
        frame.rsp,
    ));
    print_fault_stack_use(cpu, frame.vector);
    if let Some(page) = overflowed_guard(frame.vector, cr2) {
        crate::halt::fatal(format_args!(
            "CPU {cpu}: stack overflow (guard page {page:#x})"
        ));
    }
    crate::serial::write_result_fail(format_args!(
        "exception {} on cpu{cpu} at RIP {:#x}",
        frame.vector, frame.rip
    ));
    crate::halt_forever()
}

/// The guard page a page fault (or a double fault, whose CR2 is the page fault's that caused it)
/// hit, if any: then a stack ran into it.
pub fn overflowed_guard(vector: u64, cr2: u64) -> Option<u64> {
    match vector {
        8 | 14 => crate::guard::containing(cr2),
        _ => None,
    }
}

/// How deep the fault stack has been used, for a double or page fault, which run on it (for
/// sizing `FAULT_STACK_BYTES`).
#[cfg(target_os = "none")]
fn print_fault_stack_use(cpu: usize, vector: u64) {
    if vector != 8 && vector != 14 {
        return;
    }
    if let Some(probe) = crate::percpu::current_fault_stack_probe() {
        crate::serial::write_fmt_forced(format_args!(
            "cpu{cpu}: fault stack {} of {} bytes used\n",
            probe.used_bytes(),
            probe.size_bytes()
        ));
    }
}

struct Idt(core::cell::UnsafeCell<InterruptDescriptorTable>);

// SAFETY: written once by the boot CPU in `load` (guarded by BUILT) before any other CPU runs; only read after.
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(core::cell::UnsafeCell::new(InterruptDescriptorTable::new()));
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
static BUILT: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "none")]
fn build(idt: &mut InterruptDescriptorTable) {
    // SAFETY: the stub table is a static array of 32 code addresses emitted by the assembly above.
    let stubs = unsafe { &tessera_exception_stubs };
    for (vector, &addr) in stubs.iter().enumerate() {
        // SAFETY: each address is an exception stub that never returns into the interrupted code, so any
        // stack frame shape is fine; double and page faults get a known-good stack from the TSS
        // (shared: neither returns, so one that interrupts the other may overwrite its frames).
        unsafe {
            let options = raw_entry(idt, vector).set_handler_addr(VirtAddr::new(addr));
            if vector == 8 || vector == 14 {
                options.set_stack_index(FAULT_IST_INDEX);
            }
        }
    }
    crate::irq::install(idt);
}

#[cfg(target_os = "none")]
fn raw_entry(
    idt: &mut InterruptDescriptorTable,
    vector: usize,
) -> &mut x86_64::structures::idt::Entry<x86_64::structures::idt::HandlerFunc> {
    let entries = idt as *mut InterruptDescriptorTable as *mut x86_64::structures::idt::Entry<_>;
    // SAFETY: the IDT is `repr(C)` with 256 16-byte gate entries of identical layout; `vector` < 32.
    unsafe { &mut *entries.add(vector) }
}

/// Loads the shared IDT on the calling CPU (the first call builds it).
pub(crate) fn load() {
    #[cfg(target_os = "none")]
    if !BUILT.swap(true, Ordering::AcqRel) {
        // SAFETY: only the first caller (the boot CPU, before any AP starts) gets here.
        build(unsafe { &mut *IDT.0.get() });
    }
    // SAFETY: the IDT is static and no longer written once built.
    let idt: &'static InterruptDescriptorTable = unsafe { &*IDT.0.get() };
    idt.load();
}

#[cfg(test)]
mod tests {
    /// With a guard page recorded (a slot and page no other test uses), a page fault or double
    /// fault whose CR2 lies in it is an overflow, any other vector or address is not.
    #[test]
    fn only_page_and_double_faults_on_a_guard_are_overflows() {
        let guard = 0x30_5000;
        let slot = crate::guard::MAX_GUARDS - 2;
        crate::guard::record_for_test(slot, guard);
        let seen = [
            super::overflowed_guard(14, guard + 0xFF8),
            super::overflowed_guard(8, guard),
            super::overflowed_guard(13, guard + 8),
            super::overflowed_guard(6, guard + 8),
            super::overflowed_guard(14, guard - 8),
            super::overflowed_guard(14, guard + 0x1000),
        ];
        crate::guard::record_for_test(slot, 0);
        assert_eq!(seen, [Some(guard), Some(guard), None, None, None, None]);
    }

    #[test]
    fn names_cover_page_fault_and_reserved() {
        assert_eq!(super::exception_name(14), "#PF page fault");
        assert_eq!(super::exception_name(31), "reserved");
    }
}
