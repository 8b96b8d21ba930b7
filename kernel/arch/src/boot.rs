//! Multiboot2 header and the 32-bit entry: identity paging (see `paging`), long mode, then
//! `entry::bsp_entry` in Rust on the boot CPU's stack (`boot_stack`), whose guard page is the
//! entry's own page.

use crate::guard::IMAGE_PT;
use crate::paging::{identity_pd, PageTable, CPUID_1G_PAGES_BIT, IMAGE_PDE_OFFSET};
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
/// Filled by the 32-bit entry: GiB 0 -> `BOOT_PD0`, GiBs 1 .. N -> the image's fallback page
/// directories, every later GiB a 1 GiB page where the CPU has them.
static BOOT_PDPT: BootTable = BootTable::zeroed();
/// GiB 0 in 2 MiB pages; the entry for the image's first 2 MiB is pointed at `guard::IMAGE_PT`.
static BOOT_PD0: BootTable = BootTable::with(identity_pd(0));

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
    movl ${pd0}, %eax
    orl $3, %eax
    movl %eax, {pdpt}
    movl ${image_pt}, %eax
    orl $3, %eax
    movl %eax, {pd0}+{image_pde_offset}
    movl $__TESSERA_BOOT_PDS, %eax
    orl $3, %eax
    movl $1, %ecx
2:
    cmpl __TESSERA_BOOT_MAP_GIB, %ecx
    jae 3f
    movl %eax, {pdpt}(,%ecx,8)
    addl $0x1000, %eax
    incl %ecx
    jmp 2b
3:
    movl %ecx, %ebp
    movl $0x80000001, %eax
    cpuid
    movl %ebp, %ecx
    btl ${bit_1g}, %edx
    jnc 6f
4:
    cmpl $512, %ecx
    jae 6f
    movl %ecx, %eax
    shll $30, %eax
    orl $0x83, %eax
    cmpl $3, %ecx
    jne 5f
    orl $0x18, %eax
5:
    movl %eax, {pdpt}(,%ecx,8)
    movl %ecx, %edx
    shrl $2, %edx
    movl %edx, {pdpt}+4(,%ecx,8)
    incl %ecx
    jmp 4b
6:
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl ${pml4}, %eax
    movl %eax, %cr3
    movl ${efer}, %ecx
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

    .section .boot.gdt, "a"
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
    pd0 = sym BOOT_PD0,
    image_pt = sym IMAGE_PT,
    image_pde_offset = const IMAGE_PDE_OFFSET,
    bit_1g = const CPUID_1G_PAGES_BIT,
    stack = sym crate::boot_stack::BSP_STACK,
    stack_bytes = const crate::boot_stack::BSP_STACK_BYTES,
    entry = sym crate::entry::bsp_entry,
    efer = const tessera_vmx::msr::IA32_EFER,
    options(att_syntax)
);
