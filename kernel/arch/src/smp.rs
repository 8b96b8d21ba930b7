//! Application-processor bring-up: INIT-SIPI-SIPI into a real-mode trampoline copied to 0x8000.

#[cfg(target_os = "none")]
use crate::apic;
#[cfg(target_os = "none")]
use crate::fixed_heap::HostStack;
#[cfg(target_os = "none")]
use crate::percpu::Cpu;
use crate::trampoline::TrampolineError;
#[cfg(target_os = "none")]
use crate::trampoline::{self, TrampolineParams, TRAMPOLINE_BASE};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Spin iterations after INIT before the first SIPI (the SDM asks for 10 ms; emulators need far less).
const INIT_DELAY_SPINS: u64 = 200_000;
/// Spin iterations to wait for an AP to report in after each SIPI.
const ARRIVAL_TIMEOUT_SPINS: u64 = 20_000_000;

/// Why an AP did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmpError {
    /// The CPU index is 0 (the boot CPU) or has no slot (or no start-up stack, for `start_ap`) in
    /// the image's per-CPU storage.
    BadIndex(usize),
    /// The trampoline placement or parameters are unusable.
    Trampoline(TrampolineError),
    /// The boot loader's information overlaps the trampoline page.
    BootInfoOverlapsTrampoline,
    /// No answer after INIT, SIPI, SIPI.
    NoAnswer { apic_id: u32 },
}

impl core::fmt::Display for SmpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SmpError::BadIndex(index) => write!(
                f,
                "CPU index {index} is the boot CPU's or has no slot in the per-CPU storage"
            ),
            SmpError::Trampoline(e) => write!(f, "AP trampoline: {e}"),
            SmpError::BootInfoOverlapsTrampoline => {
                f.write_str("the boot loader's information overlaps the AP trampoline page")
            }
            SmpError::NoAnswer { apic_id } => {
                write!(f, "no answer from APIC ID {apic_id} after INIT, SIPI, SIPI")
            }
        }
    }
}

/// Index of the last AP that reached Rust (the boot CPU waits for it before starting the next one).
static ARRIVED: AtomicUsize = AtomicUsize::new(0);

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .rodata.trampoline, "a"
    .global tessera_trampoline_start
    .global tessera_trampoline_end
    .code16
tessera_trampoline_start:
    jmp tramp_code16
    .balign 8
    .fill 4, 8, 0
tramp_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00AF9A000000FFFF
tramp_gdt_ptr:
    .short 31
    .long {base} + (tramp_gdt - tessera_trampoline_start)
tramp_code16:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_ptr - tessera_trampoline_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, ${base} + (tramp_pm32 - tessera_trampoline_start)
    .code32
tramp_pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl {base} + {cr3_off}, %eax
    movl %eax, %cr3
    movl ${efer}, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax
    movl %eax, %cr0
    ljmp $0x18, ${base} + (tramp_lm64 - tessera_trampoline_start)
    .code64
tramp_lm64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq {base} + {stack_off}, %rsp
    movq {base} + {cpu_off}, %rdi
    movq {base} + {entry_off}, %rax
    call *%rax
    ud2
tessera_trampoline_end:
    .text
"#,
    base = const TRAMPOLINE_BASE,
    efer = const tessera_vmx::msr::IA32_EFER,
    cr3_off = const trampoline::CR3_OFFSET,
    stack_off = const trampoline::STACK_OFFSET,
    cpu_off = const trampoline::CPU_INDEX_OFFSET,
    entry_off = const trampoline::ENTRY_OFFSET,
    options(att_syntax)
);

#[cfg(target_os = "none")]
extern "C" {
    static tessera_trampoline_start: u8;
    static tessera_trampoline_end: u8;
}

/// The trampoline's code as linked into the image.
#[cfg(target_os = "none")]
fn trampoline_code() -> &'static [u8] {
    // SAFETY: both symbols delimit one contiguous read-only block emitted by the assembly above.
    unsafe {
        let start = &raw const tessera_trampoline_start;
        let end = &raw const tessera_trampoline_end;
        core::slice::from_raw_parts(start, end as usize - start as usize)
    }
}

/// Starts the AP with local APIC ID `apic_id` as CPU `cpu_index` on its start-up stack in the
/// image's per-CPU storage and waits until it runs Rust code. APs are started one at a time; the
/// AP then calls the image's AP entry with its `Cpu` token.
#[cfg(target_os = "none")]
pub fn start_ap(cpu_index: usize, apic_id: u32) -> Result<(), SmpError> {
    let Some(stack_top) = crate::percpu::slots().ap_stack_top(cpu_index) else {
        return Err(SmpError::BadIndex(cpu_index));
    };
    start(cpu_index, apic_id, stack_top)
}

/// Starts the AP like `start_ap`, but on `stack`, the host stack it keeps for good: the AP's
/// first instruction in long mode already runs on it, so the image needs no start-up stack for it
/// (`entry_points!(..., ap_stack_bytes: 0)`). The stack is consumed: only that AP uses it, and its
/// entry may run on it without `stack::run_on`.
#[cfg(target_os = "none")]
pub fn start_ap_on(cpu_index: usize, apic_id: u32, stack: HostStack) -> Result<(), SmpError> {
    if cpu_index == 0 || crate::percpu::slots().area(cpu_index).is_none() {
        return Err(SmpError::BadIndex(cpu_index));
    }
    start(cpu_index, apic_id, stack.top())
}

#[cfg(target_os = "none")]
fn start(cpu_index: usize, apic_id: u32, stack_top: u64) -> Result<(), SmpError> {
    if crate::multiboot::boot_info_overlaps(TRAMPOLINE_BASE, trampoline::TRAMPOLINE_BYTES) {
        return Err(SmpError::BootInfoOverlapsTrampoline);
    }
    let code = trampoline_code();
    let vector = trampoline::sipi_vector(TRAMPOLINE_BASE, code.len() as u64)
        .map_err(SmpError::Trampoline)?;
    let params = TrampolineParams {
        cr3: crate::boot::BOOT_PML4.phys_addr(),
        stack_top,
        entry: ap_entry as *const () as u64,
        cpu_index: cpu_index as u64,
    };
    params.validate().map_err(SmpError::Trampoline)?;
    install_trampoline(code, &params);
    send_init_sipi_sipi(cpu_index, apic_id, vector)
}

#[cfg(target_os = "none")]
fn install_trampoline(code: &[u8], params: &TrampolineParams) {
    let dest = TRAMPOLINE_BASE as *mut u8;
    // SAFETY: the page at TRAMPOLINE_BASE is reserved for the trampoline (below 1 MiB, outside the image,
    // checked against the boot information); no AP is executing it while the boot CPU rewrites it.
    unsafe {
        core::ptr::copy_nonoverlapping(code.as_ptr(), dest, code.len());
        core::ptr::write_volatile(
            dest.add(trampoline::PARAMS_OFFSET as usize) as *mut TrampolineParams,
            *params,
        );
    }
}

/// ICR delivery modes INIT and STARTUP (bits 10:8) and level assert (bit 14, required for both).
const DELIVERY_INIT: u64 = 0b101 << 8;
const DELIVERY_STARTUP: u64 = 0b110 << 8;
const ICR_LEVEL_ASSERT: u64 = 1 << 14;

/// An x2APIC ICR value: INIT (assert) to `dest`.
const fn icr_init(dest: u32) -> u64 {
    ((dest as u64) << 32) | DELIVERY_INIT | ICR_LEVEL_ASSERT
}

/// An x2APIC ICR value: STARTUP to `dest`, starting it at physical page `start_page` (address / 4096).
const fn icr_startup(dest: u32, start_page: u8) -> u64 {
    ((dest as u64) << 32) | DELIVERY_STARTUP | ICR_LEVEL_ASSERT | start_page as u64
}

/// Writes `icr` (INIT or STARTUP) to the x2APIC ICR: the only place Tessera can reset a CPU.
fn send_start_up_ipi(icr: u64) {
    // SAFETY: only `start_ap` gets here, for a CPU the image has a slot and a trampoline for; the
    // IPI resets that CPU into the trampoline and touches no memory of this one.
    unsafe { crate::msr::write(tessera_vmx::msr::X2APIC_ICR, icr) }
}

fn send_init_sipi_sipi(cpu_index: usize, apic_id: u32, vector: u8) -> Result<(), SmpError> {
    send_start_up_ipi(icr_init(apic_id));
    spin(INIT_DELAY_SPINS);
    for _ in 0..2 {
        send_start_up_ipi(icr_startup(apic_id, vector));
        if wait_arrival(cpu_index) {
            return Ok(());
        }
    }
    Err(SmpError::NoAnswer { apic_id })
}

fn wait_arrival(cpu_index: usize) -> bool {
    for _ in 0..ARRIVAL_TIMEOUT_SPINS {
        if ARRIVED.load(Ordering::Acquire) == cpu_index {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Busy-waits for about `iterations` pause instructions.
pub fn spin(iterations: u64) {
    for _ in 0..iterations {
        core::hint::spin_loop();
    }
}

#[cfg(target_os = "none")]
extern "C" fn ap_entry(cpu_index: u64) -> ! {
    let apic_id = match apic::enable_x2apic() {
        Ok(()) => apic::apic_id(),
        Err(e) => crate::halt::fatal(format_args!("cpu{cpu_index}: {e}")),
    };
    let cpu: Cpu = crate::cpu_init::install(cpu_index as usize, apic_id);
    ARRIVED.store(cpu_index as usize, Ordering::Release);
    crate::entry::call_ap_main(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_icr_values_match_sdm_layout() {
        assert_eq!(icr_init(1), 0x0000_0001_0000_4500);
        assert_eq!(icr_startup(2, 0x08), 0x0000_0002_0000_4608);
    }
}
