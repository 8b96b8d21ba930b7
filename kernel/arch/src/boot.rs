//! Multiboot2 header and the 32-bit entry: identity paging, long mode, then `entry::bsp_entry` in Rust.

use crate::paging::{boot_pdpt_high, boot_pds, PageTable, BOOT_PD_COUNT};
use core::cell::UnsafeCell;

/// A page table that the 32-bit entry code fills in before paging is on.
#[repr(transparent)]
pub struct BootTable(UnsafeCell<PageTable>);

// SAFETY: written only by the boot CPU's 32-bit entry code before any other CPU runs; read-only afterwards.
unsafe impl Sync for BootTable {}

impl BootTable {
    const fn zeroed() -> Self {
        Self::with(PageTable([0; 512]))
    }

    const fn with(table: PageTable) -> Self {
        Self(UnsafeCell::new(table))
    }

    /// Physical (= virtual, identity mapped) address of the table.
    pub fn phys_addr(&self) -> u64 {
        self.0.get() as u64
    }
}

/// Top-level table of the boot address space; also loaded by every application processor.
pub static BOOT_PML4: BootTable = BootTable::zeroed();
static BOOT_PDPT: BootTable = BootTable::with(boot_pdpt_high());
static BOOT_PDS: [PageTable; BOOT_PD_COUNT] = boot_pds();

/// Bytes of the boot CPU's stack, which carries the whole boot (machine check, heap, partitions)
/// before the CPU moves onto its vCPU's host stack: measured deepest use 9,496 bytes (release) and
/// 27,202 (debug) with the default manifest (`SUMMARY bsp_stack_used_bytes`); 16 KiB and 48 KiB
/// leave at least 6.5 KiB and 20 KiB of margin.
#[cfg(not(debug_assertions))]
pub const BSP_STACK_BYTES: usize = 16 * 1024;
#[cfg(debug_assertions)]
pub const BSP_STACK_BYTES: usize = 48 * 1024;

#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; BSP_STACK_BYTES]>);

// SAFETY: used only as the boot CPU's stack, through the stack pointer; never accessed as Rust data.
unsafe impl Sync for Stack {}

static BSP_STACK: Stack = Stack(UnsafeCell::new([0; BSP_STACK_BYTES]));

/// What measures the boot CPU's start-up stack (zeroed in `.bss` until used).
pub(crate) fn bsp_stack_probe() -> crate::stack_probe::StackProbe {
    crate::stack_probe::StackProbe::zero_filled(BSP_STACK.0.get() as u64, BSP_STACK_BYTES)
}

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .section .multiboot2_header, "a"
    .balign 8
mb2_header_start:
    .long 0xE85250D6
    .long 0
    .long mb2_header_end - mb2_header_start
    .long 0x17ADAF2A - (mb2_header_end - mb2_header_start)
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    movl %eax, %edi
    movl %ebx, %esi
    movl ${pdpt}, %eax
    orl $3, %eax
    movl %eax, {pml4}
    movl ${pds}, %eax
    orl $3, %eax
    movl %eax, {pdpt}
    addl $0x1000, %eax
    movl %eax, {pdpt}+8
    addl $0x1000, %eax
    movl %eax, {pdpt}+16
    addl $0x1000, %eax
    movl %eax, {pdpt}+24
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl ${pml4}, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_long_mode

    .code64
boot_long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    leaq {stack}+{stack_bytes}(%rip), %rsp
    movl %edi, %edi
    movl %esi, %esi
    call {entry}
    ud2

    .section .rodata.boot_gdt, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_ptr:
    .short boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt
    .text
"#,
    pml4 = sym BOOT_PML4,
    pdpt = sym BOOT_PDPT,
    pds = sym BOOT_PDS,
    stack = sym BSP_STACK,
    stack_bytes = const BSP_STACK_BYTES,
    entry = sym crate::entry::bsp_entry,
    options(att_syntax)
);
