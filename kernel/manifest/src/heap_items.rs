//! The structures of a plan's heap, listed from its layout ([`Plan::heap_items`]), and the counts
//! the layout is made of (EPT pages per partition).

use crate::ept::{self, GuestRange};
use crate::heap::{HeapItem, Owner, What, PAGE_BYTES, PID_BYTES};
use crate::plan::Plan;

impl<'p> Plan<'p> {
    /// Every structure of the heap once, in plan order: each vCPU's, then each partition's.
    pub fn heap_items(&self) -> impl Iterator<Item = HeapItem> + 'p {
        let plan = *self;
        let layout = plan.heap;
        let vcpus =
            plan.vcpus()
                .zip(layout.vcpus.iter())
                .flat_map(move |((partition, vcpu, _), v)| {
                    let owner = Owner::Vcpu { partition, vcpu };
                    let items = [
                        (What::VmxonRegion, v.vmxon, PAGE_BYTES),
                        (What::HostStack, v.host_stack, layout.host_stack_bytes),
                        (What::Vmcs, v.vmcs, PAGE_BYTES),
                        (What::VirtualApicPage, v.virtual_apic, PAGE_BYTES),
                        (What::MsrBitmap, v.msr_bitmap, PAGE_BYTES),
                        (What::PostedInterruptDescriptor, v.pid, PID_BYTES),
                    ];
                    items
                        .into_iter()
                        .map(move |(what, offset, bytes)| HeapItem {
                            what,
                            owner,
                            offset,
                            bytes,
                            align: what.align(),
                        })
                });
        let partitions = plan
            .partitions
            .iter()
            .zip(layout.partitions.iter())
            .enumerate()
            .flat_map(|(index, (part, p))| {
                let owner = Owner::Partition(index as u16);
                let item = move |what: What, offset: usize, bytes: usize| HeapItem {
                    what,
                    owner,
                    offset,
                    bytes,
                    align: what.align(),
                };
                let fixed = [
                    item(What::PidPointerTable, p.pid_table, part.pid_table.bytes()),
                    item(What::IoBitmapA, p.io_bitmaps, PAGE_BYTES),
                    item(What::IoBitmapB, p.io_bitmaps + PAGE_BYTES, PAGE_BYTES),
                ];
                let ept = (0..p.ept_pages)
                    .map(move |i| item(What::EptPage, p.ept + i * PAGE_BYTES, PAGE_BYTES));
                fixed.into_iter().chain(ept)
            });
        vcpus.chain(partitions)
    }
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
