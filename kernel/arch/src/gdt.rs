//! Per-CPU GDT with a TSS (double faults and page faults run on the CPU's fault stack); selectors
//! match the boot GDT.

use crate::percpu::PerCpu;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// 64-bit kernel code selector (same in the boot GDT and the AP trampoline).
pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
/// Kernel data selector.
pub const KERNEL_DATA_SELECTOR: u16 = 0x10;
/// TSS selector.
pub const TSS_SELECTOR: u16 = 0x18;
/// Interrupt stack table slot (0-based) of the fault stack, used by double faults and page faults
/// (a stack overflow into a guard page cannot push its frame on the overflowed stack).
pub const FAULT_IST_INDEX: u16 = 0;

/// Builds and loads `area`'s GDT and TSS, then reloads every segment register.
pub(crate) fn load(area: &'static mut PerCpu) {
    let stack_top = VirtAddr::new(area.fault_stack_top());
    let tss = area.tss.get_mut().write(TaskStateSegment::new());
    tss.interrupt_stack_table[FAULT_IST_INDEX as usize] = stack_top;
    // SAFETY: the TSS was just written (initialized) in a static per-CPU area and is not moved or
    // written after this point.
    let tss: &'static TaskStateSegment = unsafe { (*area.tss.get()).assume_init_ref() };
    let gdt = area.gdt.get_mut().write(GlobalDescriptorTable::new());
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_sel = gdt.append(Descriptor::tss_segment(tss));
    assert_eq!(
        (code.0, data.0, tss_sel.0),
        (KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR, TSS_SELECTOR)
    );
    // SAFETY: as above, the GDT was written (initialized) in a static per-CPU area and stays
    // unchanged once loaded.
    let gdt: &'static GlobalDescriptorTable = unsafe { (*area.gdt.get()).assume_init_ref() };
    gdt.load();
    // SAFETY: the selectors index valid descriptors of the GDT just loaded (code, data, available TSS).
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_sel);
    }
}
