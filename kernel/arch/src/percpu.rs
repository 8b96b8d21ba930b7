//! Per-CPU areas (one per CPU index, reached through GS base) and the `Cpu` token handed to each CPU's code.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use x86_64::registers::model_specific::GsBase;
use x86_64::structures::gdt::GlobalDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// The most CPUs Tessera brings up (the emulator board has 4).
pub const MAX_CPUS: usize = 8;
/// Bytes of each CPU's double-fault stack (interrupt stack table entry 1).
pub const FAULT_STACK_BYTES: usize = 8 * 1024;

/// State that belongs to one CPU; only that CPU writes it, after `install`.
#[repr(C, align(64))]
pub struct PerCpu {
    /// Address of this area itself, read through `gs:[0]`.
    self_addr: u64,
    index: usize,
    apic_id: u32,
    pub(crate) gdt: UnsafeCell<GlobalDescriptorTable>,
    pub(crate) tss: UnsafeCell<TaskStateSegment>,
    pub(crate) fault_stack: UnsafeCell<[u8; FAULT_STACK_BYTES]>,
}

// SAFETY: each area is written only by its own CPU (`install` runs on that CPU before anything reads it);
// other CPUs never touch the cells.
unsafe impl Sync for PerCpu {}

impl PerCpu {
    const fn new() -> Self {
        Self {
            self_addr: 0,
            index: 0,
            apic_id: 0,
            gdt: UnsafeCell::new(GlobalDescriptorTable::new()),
            tss: UnsafeCell::new(TaskStateSegment::new()),
            fault_stack: UnsafeCell::new([0; FAULT_STACK_BYTES]),
        }
    }
}

#[repr(transparent)]
struct Areas([UnsafeCell<PerCpu>; MAX_CPUS]);

// SAFETY: see `PerCpu`: slot i is written only by CPU i, once, in `install`.
unsafe impl Sync for Areas {}

static AREAS: Areas = Areas([const { UnsafeCell::new(PerCpu::new()) }; MAX_CPUS]);

/// Proof that code runs on CPU `index`; not `Send`, so it cannot move to another CPU.
pub struct Cpu {
    index: usize,
    apic_id: u32,
    _not_send: PhantomData<*const ()>,
}

impl Cpu {
    /// Index of this CPU (0 = boot CPU, then in bring-up order).
    pub fn index(&self) -> usize {
        self.index
    }

    /// This CPU's local APIC ID.
    pub fn apic_id(&self) -> u32 {
        self.apic_id
    }
}

/// Sets up CPU `index`'s area, points GS base at it and loads its GDT, TSS and the shared IDT.
/// Called once per CPU by the boot path, on that CPU.
pub(crate) fn install(index: usize, apic_id: u32) -> Cpu {
    assert!(index < MAX_CPUS, "CPU index {index} >= MAX_CPUS {MAX_CPUS}");
    let area = AREAS.0[index].get();
    // SAFETY: slot `index` is used only by this CPU and this is its first and only setup, so no other
    // reference to it exists.
    let area = unsafe { &mut *area };
    area.self_addr = area as *const PerCpu as u64;
    area.index = index;
    area.apic_id = apic_id;
    GsBase::write(VirtAddr::new(area.self_addr));
    crate::gdt::load(area);
    crate::idt::load();
    Cpu {
        index,
        apic_id,
        _not_send: PhantomData,
    }
}

/// Index of the calling CPU, or 0 before its per-CPU area is installed (early boot).
pub fn current_index_or_boot() -> usize {
    let base = GsBase::read().as_u64();
    if base == 0 {
        return 0;
    }
    // SAFETY: a non-zero GS base is only ever set by `install` to this CPU's `PerCpu`, which is static.
    unsafe { (*(base as *const PerCpu)).index }
}

/// Address of the calling CPU's TSS (for the VMCS host state); 0 before `install`.
pub fn current_tss_addr() -> u64 {
    let base = GsBase::read().as_u64();
    if base == 0 {
        return 0;
    }
    // SAFETY: a non-zero GS base points at this CPU's static `PerCpu` (see `current_index_or_boot`).
    unsafe { (*(base as *const PerCpu)).tss.get() as u64 }
}
