//! The fixed heap: a static region of exactly `HEAP_BYTES`, with every boot-time structure at the
//! offset the plan gives it (`PLAN.heap`, laid out by `tessera_manifest::heap_layout`). The
//! accessors below index the region directly; nothing is allocated and nothing is checked again
//! at boot (the planner's host tests prove the layout: no overlaps, every item aligned, the
//! region exactly its items).
//!
//! `vcpu` is a vCPU's position in plan order, `partition` a partition's index.

use crate::plan::{HEAP_BYTES, PLAN};

use tessera_arch::fixed_heap::{HostStack, Misplaced};
use tessera_arch::vmx::{Page, PidTableMemory};
use tessera_manifest::heap::{PartitionHeap, VcpuHeap, PAGE_BYTES};
use tessera_vmx::tables::{ndst_x2apic, PostedInterruptDescriptor};

/// The posted-interrupt notification vector (host IDT vector; Tessera's host never enables
/// interrupts, so a notification that arrives in VMX root stays pending until the next VM entry,
/// where the processor handles it as a posted interrupt).
pub const NOTIFICATION_VECTOR: u8 = 0xF2;

tessera_arch::fixed_heap_region!(static REGION: HEAP_BYTES);

/// A view the generated plan put outside the region: only a plan not made by the planner.
fn placed<T>(view: Result<T, Misplaced>) -> T {
    view.unwrap_or_else(|m| {
        panic!(
            "heap: {} at offset {:#x} ({} bytes, aligned {}) is not inside the {HEAP_BYTES}-byte region or the region is not page-aligned (linker.ld places it)",
            m.what, m.offset, m.bytes, m.align
        )
    })
}

fn of_vcpu(vcpu: usize) -> &'static VcpuHeap {
    &PLAN.heap.vcpus[vcpu]
}

fn of_partition(partition: usize) -> &'static PartitionHeap {
    &PLAN.heap.partitions[partition]
}

/// The VMXON region of `vcpu`'s CPU (also the guard page under its host stack).
pub fn vmxon(vcpu: usize) -> &'static Page {
    placed(REGION.page(of_vcpu(vcpu).vmxon))
}

pub fn vmcs(vcpu: usize) -> &'static Page {
    placed(REGION.page(of_vcpu(vcpu).vmcs))
}

pub fn virtual_apic(vcpu: usize) -> &'static Page {
    placed(REGION.page(of_vcpu(vcpu).virtual_apic))
}

/// The MSR bitmaps every partition shares: the one trapping IA32_TSC_DEADLINE, and the one
/// passing it when some partition's timer may be virtualized.
pub fn msr_bitmaps() -> (&'static Page, Option<&'static Page>) {
    let m = PLAN.heap.msr_bitmaps;
    let passed = m.deadline_passed.map(|offset| placed(REGION.page(offset)));
    (placed(REGION.page(m.deadline_trapped)), passed)
}

/// The vCPU's posted-interrupt descriptor (set up by [`set_up_descriptors`]).
pub fn pid(vcpu: usize) -> &'static PostedInterruptDescriptor {
    placed(REGION.descriptor(of_vcpu(vcpu).pid))
}

/// The host stack of `vcpu`, once (its CPU moves onto it for good); `None` after that, and for
/// a stack below one already taken (the region hands stacks out in rising order: take them in
/// plan order).
pub fn host_stack(vcpu: usize) -> Option<HostStack> {
    REGION.take_stack(of_vcpu(vcpu).host_stack, PLAN.heap.host_stack_bytes)
}

/// The page right under `vcpu`'s host stack (its VMXON region, `PLAN.heap.vcpus[vcpu]
/// .host_stack_guard`): the host never touches it through its linear mapping once VMXON ran, so
/// it can be unmapped to make an overflow of the stack fault.
pub fn host_stack_guard(vcpu: usize) -> &'static Page {
    placed(REGION.page(of_vcpu(vcpu).host_stack_guard))
}

/// The PID-pointer table of `partition`: exactly its planned entries, 4 KiB-aligned.
pub fn pid_table(partition: usize) -> PidTableMemory {
    let entries = PLAN.partitions[partition].pid_table.entries.len();
    placed(REGION.words(of_partition(partition).pid_table, entries, PAGE_BYTES))
}

/// I/O bitmaps A and B of `partition` (its vCPUs share them); `None` for a partition granted no
/// port (its vCPUs exit on every port access).
pub fn io_bitmaps(partition: usize) -> Option<[&'static Page; 2]> {
    let a = of_partition(partition).io_bitmaps?;
    Some([placed(REGION.page(a)), placed(REGION.page(a + PAGE_BYTES))])
}

/// The EPT pages of `partition`, its PML4 first.
pub fn ept_pages(partition: usize) -> &'static [Page] {
    let p = of_partition(partition);
    placed(REGION.pages(p.ept, p.ept_pages))
}

/// Points every vCPU's posted-interrupt descriptor at its CPU (x2APIC destination) with
/// [`NOTIFICATION_VECTOR`]; the boot CPU calls it once, before any vCPU runs.
pub fn set_up_descriptors() {
    for (vcpu, (_, _, v)) in PLAN.vcpus().enumerate() {
        pid(vcpu).set_notification(NOTIFICATION_VECTOR, ndst_x2apic(v.physical_apic_id));
    }
}

/// One vCPU's structures, as its CPU uses them (its virtual-APIC page reaches it built, in
/// `partition::Launch::pages`, and the MSR bitmaps in `partition::Launch::msr_bitmaps`).
#[derive(Clone, Copy)]
pub struct VcpuMemory {
    pub vmxon: &'static Page,
    pub vmcs: &'static Page,
    pub pid: &'static PostedInterruptDescriptor,
}

/// The structures of `vcpu`.
pub fn vcpu_memory(vcpu: usize) -> VcpuMemory {
    VcpuMemory {
        vmxon: vmxon(vcpu),
        vmcs: vmcs(vcpu),
        pid: pid(vcpu),
    }
}
