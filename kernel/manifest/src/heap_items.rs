//! The structures of a plan's heap, listed from its layout ([`Plan::heap_items`]), and the counts
//! the layout is made of (EPT pages per partition).

use crate::ept::{self, GuestRange};
use crate::heap::{HeapItem, Owner, What, PAGE_BYTES, PID_BYTES};
use crate::plan::{Partition, Plan, TimerMode};

impl<'p> Plan<'p> {
    /// Every structure of the heap once, in plan order: each vCPU's, the MSR bitmaps every
    /// partition shares, then each partition's.
    pub fn heap_items(&self) -> impl Iterator<Item = HeapItem> + 'p {
        let plan = *self;
        let layout = plan.heap;
        let vcpus =
            plan.vcpus()
                .zip(layout.vcpus.iter())
                .flat_map(move |((partition, vcpu, _), v)| {
                    let own = Owner::Vcpu { partition, vcpu };
                    let items = [
                        (What::VmxonRegion, v.vmxon, PAGE_BYTES, own),
                        (What::HostStack, v.host_stack, layout.host_stack_bytes, own),
                        (What::Vmcs, v.vmcs, PAGE_BYTES, own),
                        (What::VirtualApicPage, v.virtual_apic, PAGE_BYTES, own),
                        (What::PostedInterruptDescriptor, v.pid, PID_BYTES, own),
                    ];
                    items.into_iter().map(item)
                });
        let msr = layout.msr_bitmaps;
        let msr_bitmaps = [
            Some((
                What::MsrBitmapDeadlineTrapped,
                msr.deadline_trapped,
                PAGE_BYTES,
                Owner::EveryPartition,
            )),
            msr.deadline_passed.map(|offset| {
                (
                    What::MsrBitmapDeadlinePassed,
                    offset,
                    PAGE_BYTES,
                    Owner::TimerVirtualizingPartitions,
                )
            }),
        ]
        .into_iter()
        .flatten()
        .filter(move |_| !layout.vcpus.is_empty())
        .map(item);
        let partitions = plan
            .partitions
            .iter()
            .zip(layout.partitions.iter())
            .enumerate()
            .flat_map(move |(index, (part, p))| {
                let own = Owner::Partition(index as u16);
                let table = (
                    What::PidPointerTable,
                    p.pid_table,
                    part.pid_table.bytes(),
                    own,
                );
                let io = p.io_bitmaps.into_iter().flat_map(move |a| {
                    [
                        (What::IoBitmapA, a, PAGE_BYTES, own),
                        (What::IoBitmapB, a + PAGE_BYTES, PAGE_BYTES, own),
                    ]
                });
                let ept = (0..p.ept_pages)
                    .map(move |i| (What::EptPage, p.ept + i * PAGE_BYTES, PAGE_BYTES, own));
                core::iter::once(table).chain(io).chain(ept).map(item)
            });
        vcpus.chain(msr_bitmaps).chain(partitions)
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

/// Whether the timer of `part` may run on APIC-timer virtualization (its vCPUs then use the MSR
/// bitmap passing IA32_TSC_DEADLINE while their LVT is in TSC-deadline mode).
pub fn may_virtualize_timer(part: &Partition<'_>) -> bool {
    part.timer != TimerMode::Trapped
}

/// Whether `part` is granted any I/O port (otherwise it has no I/O bitmaps: every port access
/// exits).
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
