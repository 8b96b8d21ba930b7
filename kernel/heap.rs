//! The fixed heap: a static region of exactly `HEAP_BYTES`, with every boot-time structure at the
//! offset the plan gives it (`PLAN.heap`, laid out by `tessera_manifest::heap_layout`). The
//! functions below take each structure from the region at its offset, as tessera-arch's typed
//! handle (`VmxonRegion`, `VmcsRegion`, ...): nothing is allocated, and each byte is taken once
//! (tessera-arch refuses a second take, so a structure cannot reach the processor twice or as
//! two kinds). The planner's host tests prove the layout: no overlaps, every item aligned, the
//! region exactly its items.
//!
//! `vcpu` is a vCPU's position in plan order, `partition` a partition's index.

use crate::plan::{HEAP_BYTES, PLAN, VCPUS};

use tessera_arch::fixed_heap::HostStack;
use tessera_arch::vmx::{
    EptPages, IoBitmapRegions, MsrBitmapRegion, PidTableMemory, VirtualApicRegion, VmcsRegion,
    VmxonRegion,
};
use tessera_manifest::heap::{PartitionHeap, VcpuHeap};
use tessera_vmx::tables::{ndst_x2apic, PostedInterruptDescriptor};

/// The posted-interrupt notification vector (host IDT vector; Tessera's host never enables
/// interrupts, so a notification that arrives in VMX root stays pending until the next VM entry,
/// where the processor handles it as a posted interrupt).
pub const NOTIFICATION_VECTOR: u8 = 0xF2;

tessera_arch::fixed_heap_region!(static REGION: HEAP_BYTES);

/// A structure the region refused: outside it, misaligned (the region itself is not
/// page-aligned if linker.ld did not place it), or taken already (only a plan not made by the
/// planner, or a structure taken twice); `cargo xtask explain` names what the plan
/// puts at `offset`.
fn taken<T>(offset: usize, view: Option<T>) -> T {
    match view {
        Some(view) => view,
        None => refused(offset),
    }
}

#[cold]
#[inline(never)]
fn refused(offset: usize) -> ! {
    panic!("heap: the structure at {offset:#x} lies outside, misaligned or taken twice")
}

fn of_vcpu(vcpu: usize) -> &'static VcpuHeap {
    &PLAN.heap.vcpus[vcpu]
}

fn of_partition(partition: usize) -> &'static PartitionHeap {
    &PLAN.heap.partitions[partition]
}

/// The VMXON region of `vcpu`'s CPU (also the guard page under its host stack) and its VMCS
/// region: what the vCPU's CPU gives `vmx::enable` and `Vmcs::new`.
pub struct VcpuRegions {
    pub vmxon: VmxonRegion,
    pub vmcs: VmcsRegion,
}

/// Takes `vcpu`'s VMXON and VMCS regions (once: a second take panics); its own CPU does, for
/// `vmx::enable` and `Vmcs::new`.
pub fn take_vcpu_regions(vcpu: usize) -> VcpuRegions {
    let at = of_vcpu(vcpu);
    VcpuRegions {
        vmxon: taken(at.vmxon, REGION.take(at.vmxon)),
        vmcs: taken(at.vmcs, REGION.take(at.vmcs)),
    }
}

/// Takes `vcpu`'s virtual-APIC page (once).
pub fn take_virtual_apic(vcpu: usize) -> VirtualApicRegion {
    let at = of_vcpu(vcpu).virtual_apic;
    taken(at, REGION.take(at))
}

/// Takes the MSR bitmaps every partition shares (once): the one trapping IA32_TSC_DEADLINE, and
/// the one passing it when some partition's timer may be virtualized.
pub fn take_msr_bitmaps() -> (MsrBitmapRegion, Option<MsrBitmapRegion>) {
    let m = PLAN.heap.msr_bitmaps;
    let passed = m.deadline_passed.map(|at| taken(at, REGION.take(at)));
    (
        taken(m.deadline_trapped, REGION.take(m.deadline_trapped)),
        passed,
    )
}

/// Every vCPU's posted-interrupt descriptor, in plan order.
pub type Descriptors = [&'static PostedInterruptDescriptor; VCPUS];

/// Takes every vCPU's posted-interrupt descriptor (once, on the boot CPU before any vCPU runs)
/// and points each at its CPU (x2APIC destination) with [`NOTIFICATION_VECTOR`]. The
/// references are shared from then on: senders post into them.
pub fn take_descriptors() -> Descriptors {
    let mut apic_ids = PLAN
        .partitions
        .iter()
        .flat_map(|p| p.vcpus.iter())
        .map(|v| v.physical_apic_id);
    core::array::from_fn(|vcpu| {
        let at = of_vcpu(vcpu).pid;
        let pid = taken(at, REGION.take_descriptor(at));
        let apic_id = apic_ids.next().unwrap_or_default();
        pid.set_notification(NOTIFICATION_VECTOR, ndst_x2apic(apic_id));
        pid
    })
}

/// The host stack of `vcpu`, once (the boot CPU takes it to start the vCPU's CPU on it, or to
/// move onto it itself, for good); `None` after that.
pub fn host_stack(vcpu: usize) -> Option<HostStack> {
    REGION.take_stack(of_vcpu(vcpu).host_stack, PLAN.heap.host_stack_bytes)
}

/// Address of the page right under `vcpu`'s host stack (its VMXON region, `PLAN.heap.vcpus[vcpu]
/// .host_stack_guard`): the host never touches it through its linear mapping once VMXON ran, so
/// it can be unmapped to make an overflow of the stack fault.
pub fn host_stack_guard(vcpu: usize) -> u64 {
    REGION.phys_addr(of_vcpu(vcpu).host_stack_guard)
}

/// Address of byte `offset` of the region (nothing is taken).
#[cfg(test)]
pub fn phys_addr(offset: usize) -> u64 {
    REGION.phys_addr(offset)
}

/// Takes the PID-pointer table of `partition` (once): exactly its planned entries, 4 KiB-aligned.
pub fn take_pid_table(partition: usize) -> PidTableMemory {
    let entries = PLAN.partitions[partition].pid_table.entries.len();
    let at = of_partition(partition).pid_table;
    taken(at, REGION.take_pid_table(at, entries))
}

/// Takes the I/O bitmaps A and B of `partition` (once; its vCPUs share them); `None` for a
/// partition granted no port (its vCPUs exit on every port access).
pub fn take_io_bitmaps(partition: usize) -> Option<IoBitmapRegions> {
    let at = of_partition(partition).io_bitmaps?;
    Some(taken(at, REGION.take_io_bitmaps(at)))
}

/// Takes the EPT pages of `partition`, its PML4 first (once).
pub fn take_ept_pages(partition: usize) -> EptPages {
    let p = of_partition(partition);
    taken(p.ept, REGION.take_ept_pages(p.ept, p.ept_pages))
}
