//! CPU initialisation, once per CPU on that CPU: its per-CPU area claimed, GS base pointed at it,
//! its GDT and TSS and the shared IDT loaded. Above `percpu` (storage), `gdt` and `idt`; below the
//! entry paths (`entry`, `smp`).

use crate::percpu::{self, Cpu};
use x86_64::registers::model_specific::GsBase;
use x86_64::VirtAddr;

/// Sets up CPU `index`'s area, points GS base at it and loads its GDT, TSS and the shared IDT.
pub(crate) fn install(index: usize, apic_id: u32) -> Cpu {
    let Some(area) = percpu::claim(index, apic_id) else {
        crate::halt::fatal(format_args!(
            "CPU index {index}: the image has per-CPU storage for {} CPUs",
            percpu::slots().count()
        ))
    };
    let (self_addr, cpu) = (area.self_addr(), area.token());
    GsBase::write(VirtAddr::new(self_addr));
    crate::gdt::load(area);
    crate::idt::load();
    cpu
}
