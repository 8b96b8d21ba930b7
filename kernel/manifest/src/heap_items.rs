//! The structures of a plan's heap, listed from its layout ([`Plan::heap_items`]), and the counts
//! the layout is made of (EPT pages per partition).

use crate::ept::{self, GuestRange};
use crate::heap::{HeapItem, Owner, PartitionHeap, VcpuHeap, What, PAGE_BYTES, PID_BYTES};
use crate::plan::{Partition, Plan, TimerMode};

impl<'p> Plan<'p> {
    /// Every structure of the heap once, in plan order: each vCPU's, then each partition's; a
    /// shared one (a partition's MSR bitmap, the all-denied I/O bitmaps) once, at its first user.
    pub fn heap_items(&self) -> impl Iterator<Item = HeapItem> + 'p {
        let plan = *self;
        let layout = plan.heap;
        let vcpus = plan.vcpus().zip(layout.vcpus.iter()).enumerate().flat_map(
            move |(i, ((partition, vcpu, _), v))| {
                let own = Owner::Vcpu { partition, vcpu };
                let same_msr = |o: &VcpuHeap| o.msr_bitmap == v.msr_bitmap;
                let msr_owner = match layout.vcpus.iter().filter(|o| same_msr(o)).count() {
                    1 => own,
                    _ => Owner::Partition(partition),
                };
                let msr_first = !layout.vcpus[..i].iter().any(same_msr);
                let items = [
                    Some((What::VmxonRegion, v.vmxon, PAGE_BYTES, own)),
                    Some((What::HostStack, v.host_stack, layout.host_stack_bytes, own)),
                    Some((What::Vmcs, v.vmcs, PAGE_BYTES, own)),
                    Some((What::VirtualApicPage, v.virtual_apic, PAGE_BYTES, own)),
                    msr_first.then_some((What::MsrBitmap, v.msr_bitmap, PAGE_BYTES, msr_owner)),
                    Some((What::PostedInterruptDescriptor, v.pid, PID_BYTES, own)),
                ];
                items.into_iter().flatten().map(item)
            },
        );
        let partitions = plan
            .partitions
            .iter()
            .zip(layout.partitions.iter())
            .enumerate()
            .flat_map(move |(index, (part, p))| {
                let own = Owner::Partition(index as u16);
                let same_io = |o: &PartitionHeap| o.io_bitmaps == p.io_bitmaps;
                let io_owner = match layout.partitions.iter().filter(|o| same_io(o)).count() {
                    1 => own,
                    _ => Owner::PortlessPartitions,
                };
                let io_first = !layout.partitions[..index].iter().any(same_io);
                let table = (
                    What::PidPointerTable,
                    p.pid_table,
                    part.pid_table.bytes(),
                    own,
                );
                let io = [
                    (What::IoBitmapA, p.io_bitmaps, PAGE_BYTES, io_owner),
                    (
                        What::IoBitmapB,
                        p.io_bitmaps + PAGE_BYTES,
                        PAGE_BYTES,
                        io_owner,
                    ),
                ];
                let ept = (0..p.ept_pages)
                    .map(move |i| (What::EptPage, p.ept + i * PAGE_BYTES, PAGE_BYTES, own));
                core::iter::once(table)
                    .chain(io.into_iter().filter(move |_| io_first))
                    .chain(ept)
                    .map(item)
            });
        vcpus.chain(partitions)
    }
}

fn item((what, offset, bytes, owner): (What, usize, usize, Owner)) -> HeapItem {
    HeapItem {
        what,
        owner,
        offset,
        bytes,
        align: what.align(),
    }
}

/// Whether the vCPUs of `part` share one MSR bitmap: only on the trapped timer path, where no
/// vCPU ever passes IA32_TSC_DEADLINE through its bitmap.
pub fn shares_msr_bitmap(part: &Partition<'_>) -> bool {
    part.timer == TimerMode::Trapped
}

/// Whether `part` is granted any I/O port (otherwise it uses the shared all-denied I/O bitmaps).
pub fn grants_ports(part: &Partition<'_>) -> bool {
    part.devices
        .iter()
        .any(|d| d.ports.iter().any(|r| r.count > 0))
}

/// EPT pages of partition `index`: its memory, every device MMIO range and every channel range
/// it maps (see [`crate::ept`] and [`crate::channel`]).
pub fn ept_pages(plan: &Plan<'_>, index: usize) -> u64 {
    let part = &plan.partitions[index];
    let memory = GuestRange {
        base: part.memory.guest_base,
        bytes: part.memory.bytes,
    };
    let devices: &[crate::plan::Device<'_>] = part.devices;
    let mmio = devices
        .iter()
        .flat_map(|d| d.mmio.iter())
        .map(|m| GuestRange {
            base: m.base,
            bytes: m.bytes,
        });
    let channels = crate::channel::mappings(plan, index as u16).map(|m| GuestRange {
        base: m.guest_base,
        bytes: m.bytes,
    });
    ept::table_pages_mixed(core::iter::once(memory).chain(mmio), channels)
}
