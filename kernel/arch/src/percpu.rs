//! Per-CPU areas (one per CPU index, reached through GS base) and the `Cpu` token handed to each
//! CPU's code. Storage only: `cpu_init` loads the GDT, TSS and IDT it holds. The image sizes the storage: `entry_points!` declares one static `CpuStorage` for
//! the number of CPUs it brings up (the hypervisor's comes from its build-time plan).

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use x86_64::registers::model_specific::GsBase;
use x86_64::structures::gdt::GlobalDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;

/// Bytes of each CPU's fault stack (interrupt stack table entry 1), where double faults and page
/// faults run, so that a stack overflow into a guard page is reported on a good stack. Both are
/// fatal and never return, so they can share it. Sized from the exception handler's deepest use,
/// which it prints (`fault stack N of M bytes used`): 648 bytes (release) and 1,544 (debug)
/// reporting a stack overflow (scenario `stack-overflow`), so 1.5 KiB and 3 KiB.
#[cfg(not(debug_assertions))]
pub const FAULT_STACK_BYTES: usize = 1536;
#[cfg(debug_assertions)]
pub const FAULT_STACK_BYTES: usize = 3 * 1024;

/// State that belongs to one CPU; only that CPU writes it, after `install`. All zero until then,
/// so the storage lies in `.bss` (the GDT and TSS are written by `gdt::load`).
#[repr(C, align(64))]
pub struct PerCpu {
    /// Address of this area itself, read through `gs:[0]`.
    self_addr: u64,
    index: usize,
    apic_id: u32,
    pub(crate) gdt: UnsafeCell<MaybeUninit<GlobalDescriptorTable>>,
    pub(crate) tss: UnsafeCell<MaybeUninit<TaskStateSegment>>,
    pub(crate) fault_stack: UnsafeCell<[u8; FAULT_STACK_BYTES]>,
}

impl PerCpu {
    const fn zeroed() -> Self {
        Self {
            self_addr: 0,
            index: 0,
            apic_id: 0,
            gdt: UnsafeCell::new(MaybeUninit::zeroed()),
            tss: UnsafeCell::new(MaybeUninit::zeroed()),
            fault_stack: UnsafeCell::new([0; FAULT_STACK_BYTES]),
        }
    }
}

/// The stack an application processor starts on (used only as raw stack memory, never as Rust data).
#[repr(C, align(16))]
pub struct ApStack<const BYTES: usize>(UnsafeCell<[u8; BYTES]>);

/// Per-CPU storage for the boot CPU and `APS` application processors, each AP with a start-up stack
/// of `AP_STACK_BYTES`. An image declares exactly one, as a `static`, through
/// `entry_points!(..., cpus: N, ap_stack_bytes: S)` (`APS = N - 1`).
pub struct CpuStorage<const APS: usize, const AP_STACK_BYTES: usize> {
    boot: UnsafeCell<PerCpu>,
    areas: [UnsafeCell<PerCpu>; APS],
    stacks: [ApStack<AP_STACK_BYTES>; APS],
}

// SAFETY: slot i (area and stack) is used only by CPU i: its area is written once by that CPU in
// `install` before anything reads it, and its stack is only that AP's stack; other CPUs never touch
// the cells (the boot CPU only computes the stack's address for the trampoline).
unsafe impl<const APS: usize, const S: usize> Sync for CpuStorage<APS, S> {}

impl<const APS: usize, const S: usize> CpuStorage<APS, S> {
    /// Zeroed storage (put it in a `static`: it lies in `.bss`).
    pub const fn new() -> Self {
        Self {
            boot: UnsafeCell::new(PerCpu::zeroed()),
            areas: [const { UnsafeCell::new(PerCpu::zeroed()) }; APS],
            stacks: [const { ApStack(UnsafeCell::new([0; S])) }; APS],
        }
    }

    /// The storage without its sizes in the type, as `tessera-arch` reaches it.
    pub fn slots(&'static self) -> CpuSlots {
        CpuSlots {
            boot: &self.boot,
            aps: &self.areas,
            stacks_base: self.stacks.as_ptr() as u64,
            stack_bytes: S,
        }
    }
}

impl<const APS: usize, const S: usize> Default for CpuStorage<APS, S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The image's per-CPU storage: CPU 0 is the boot CPU, CPU i > 0 the (i - 1)th AP slot.
#[derive(Clone, Copy)]
pub struct CpuSlots {
    boot: &'static UnsafeCell<PerCpu>,
    aps: &'static [UnsafeCell<PerCpu>],
    /// Address of the first AP's start-up stack; AP i's is `i - 1` stacks above it.
    stacks_base: u64,
    stack_bytes: usize,
}

impl CpuSlots {
    /// CPUs the storage has room for, the boot CPU included.
    pub fn count(&self) -> usize {
        self.aps.len() + 1
    }

    /// The area of CPU `index`, if the storage has one.
    pub(crate) fn area(&self, index: usize) -> Option<&'static UnsafeCell<PerCpu>> {
        match index {
            0 => Some(self.boot),
            i => self.aps.get(i - 1),
        }
    }

    /// Bottom address of AP `index`'s start-up stack; none for the boot CPU, or when the image
    /// has none (`ap_stack_bytes: 0`: its APs start on their host stacks, `smp::start_ap_on`).
    fn ap_stack_bottom(&self, index: usize) -> Option<u64> {
        if self.stack_bytes == 0 {
            return None;
        }
        let ap = index.checked_sub(1).filter(|&ap| ap < self.aps.len())?;
        Some(self.stacks_base + (ap * self.stack_bytes) as u64)
    }

    /// What measures AP `index`'s start-up stack (none for the boot CPU: see `boot_stack::bsp_stack_probe`).
    pub(crate) fn ap_stack_probe(&self, index: usize) -> Option<crate::stack_probe::StackProbe> {
        let bottom = self.ap_stack_bottom(index)?;
        Some(crate::stack_probe::StackProbe::zero_filled(
            bottom,
            self.stack_bytes,
        ))
    }

    /// Top address of AP `index`'s start-up stack (16-byte aligned); none for the boot CPU.
    pub(crate) fn ap_stack_top(&self, index: usize) -> Option<u64> {
        Some((self.ap_stack_bottom(index)? + self.stack_bytes as u64) & !15)
    }
}

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

/// The image's per-CPU storage (declared by `entry_points!`).
#[cfg(target_os = "none")]
pub(crate) fn slots() -> CpuSlots {
    extern "Rust" {
        fn __tessera_cpu_slots() -> CpuSlots;
    }
    // SAFETY: the symbol is defined by `entry_points!` in the image with exactly this signature.
    unsafe { __tessera_cpu_slots() }
}

/// Records CPU `index`'s identity in its area and returns the area, or `None` if the storage has
/// no slot `index`. Called once per CPU (by `cpu_init::install`), on that CPU.
#[cfg(target_os = "none")]
pub(crate) fn claim(index: usize, apic_id: u32) -> Option<&'static mut PerCpu> {
    let area = slots().area(index)?;
    // SAFETY: slot `index` is used only by this CPU and this is its first and only setup, so no other
    // reference to it exists.
    let area = unsafe { &mut *area.get() };
    area.self_addr = area as *const PerCpu as u64;
    area.index = index;
    area.apic_id = apic_id;
    Some(area)
}

impl PerCpu {
    /// Top address of the fault stack (16-byte aligned: the area is 64-byte aligned).
    pub(crate) fn fault_stack_top(&self) -> u64 {
        self.fault_stack.get() as u64 + FAULT_STACK_BYTES as u64
    }

    /// The address `gs:[0]` reads: this area.
    pub(crate) fn self_addr(&self) -> u64 {
        self.self_addr
    }

    /// The proof of running on this area's CPU (handed out once, by `cpu_init::install`).
    pub(crate) fn token(&self) -> Cpu {
        Cpu {
            index: self.index,
            apic_id: self.apic_id,
            _not_send: PhantomData,
        }
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

/// What measures the calling CPU's fault stack (none before `install`).
pub fn current_fault_stack_probe() -> Option<crate::stack_probe::StackProbe> {
    let base = GsBase::read().as_u64();
    if base == 0 {
        return None;
    }
    // SAFETY: a non-zero GS base points at this CPU's static `PerCpu` (see `current_index_or_boot`).
    let bottom = unsafe { (*(base as *const PerCpu)).fault_stack.get() as u64 };
    Some(crate::stack_probe::StackProbe::zero_filled(
        bottom,
        FAULT_STACK_BYTES,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    const AP_STACK_BYTES: usize = 8192;
    static STORAGE: CpuStorage<2, AP_STACK_BYTES> = CpuStorage::new();

    #[test]
    fn cpu_zero_is_the_boot_slot_and_aps_follow() {
        let slots = STORAGE.slots();
        assert_eq!(slots.count(), 3);
        let areas: Vec<_> = (0..4).map(|i| slots.area(i).map(|a| a.get())).collect();
        assert_eq!(areas[0], Some(STORAGE.boot.get()));
        assert_eq!(areas[2], Some(STORAGE.areas[1].get()));
        assert_eq!(areas[3], None, "no slot beyond the storage");
        assert!(areas[0] != areas[1] && areas[1] != areas[2]);
    }

    #[test]
    fn storage_without_start_up_stacks_has_areas_but_no_stack() {
        static BARE: CpuStorage<2, 0> = CpuStorage::new();
        let slots = BARE.slots();
        assert_eq!(slots.count(), 3);
        assert!(slots.area(2).is_some());
        assert_eq!((slots.ap_stack_top(1), slots.ap_stack_top(2)), (None, None));
        assert!(slots.ap_stack_probe(1).is_none());
    }

    #[test]
    fn ap_stacks_are_separate_aligned_and_absent_for_the_boot_cpu() {
        let slots = STORAGE.slots();
        assert_eq!(slots.ap_stack_top(0), None);
        assert_eq!(slots.ap_stack_top(3), None);
        let (one, two) = (
            slots.ap_stack_top(1).unwrap(),
            slots.ap_stack_top(2).unwrap(),
        );
        assert_eq!((one % 16, two % 16), (0, 0));
        assert!(one.abs_diff(two) >= AP_STACK_BYTES as u64);
        assert_eq!(
            one,
            STORAGE.stacks[0].0.get() as u64 + AP_STACK_BYTES as u64
        );
    }
}
