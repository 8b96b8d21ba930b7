//! The boot-time allocation sequence: every structure the kernel takes from its fixed heap, in the
//! exact order it allocates them. The planner replays this on `linked_list_allocator` to size the
//! heap; the kernel iterates the same function, so both use one sequence.
//!
//! Order: first, for each vCPU in plan order (partition order, then vCPU order), the items of
//! [`PER_VCPU`]; then, for each partition, its PID-pointer table, the I/O bitmaps its vCPUs
//! share ([`PER_PARTITION`]: the same granted ports for every vCPU of a partition), then its EPT
//! pages. The MSR bitmap stays per vCPU: a vCPU's timer passes IA32_TSC_DEADLINE in it while its
//! own LVT timer is virtualized. The posted-interrupt descriptor comes first in each vCPU's items: the first one leaves
//! the rest of its page free, and the first-fit allocator puts every later descriptor there
//! instead of leaving most of a page free before each vCPU's VMXON region.

use crate::ept::{self, GuestRange};
use crate::plan::{Partition, Plan};

/// Bytes of each host stack (one per physical CPU that runs a vCPU).
pub const HOST_STACK_BYTES: usize = 16 * 1024;

/// What a heap item is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    VmxonRegion,
    Vmcs,
    VirtualApicPage,
    PostedInterruptDescriptor,
    MsrBitmap,
    IoBitmapA,
    IoBitmapB,
    HostStack,
    PidPointerTable,
    /// One EPT paging-structure page (see [`crate::ept`]).
    EptPage,
}

impl What {
    /// Name used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            What::VmxonRegion => "VMXON region",
            What::Vmcs => "VMCS",
            What::VirtualApicPage => "virtual-APIC page",
            What::PostedInterruptDescriptor => "posted-interrupt descriptor",
            What::MsrBitmap => "MSR bitmap",
            What::IoBitmapA => "I/O bitmap A",
            What::IoBitmapB => "I/O bitmap B",
            What::HostStack => "host stack",
            What::PidPointerTable => "PID-pointer table",
            What::EptPage => "EPT page",
        }
    }
}

/// Whose structure an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// vCPU `vcpu` of partition `partition` (and the physical CPU it is pinned to).
    Vcpu {
        partition: u16,
        vcpu: u16,
    },
    Partition(u16),
}

/// One allocation: `bytes` bytes aligned to `align` (a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapItem {
    pub what: What,
    pub owner: Owner,
    pub bytes: usize,
    pub align: usize,
}

/// Per-vCPU structures, in allocation order: (what, bytes, align).
pub const PER_VCPU: [(What, usize, usize); 6] = [
    (What::PostedInterruptDescriptor, 64, 64),
    (What::VmxonRegion, 4096, 4096),
    (What::Vmcs, 4096, 4096),
    (What::VirtualApicPage, 4096, 4096),
    (What::MsrBitmap, 4096, 4096),
    (What::HostStack, HOST_STACK_BYTES, 16),
];

/// Per-partition bitmaps every vCPU of the partition uses, after its PID-pointer table.
pub const PER_PARTITION: [(What, usize, usize); 2] =
    [(What::IoBitmapA, 4096, 4096), (What::IoBitmapB, 4096, 4096)];

/// Every boot-time heap allocation of `plan`, in the kernel's order.
pub fn sequence<'p>(plan: &Plan<'p>) -> impl Iterator<Item = HeapItem> + 'p {
    let partitions: &'p [Partition<'p>] = plan.partitions;
    let plan = *plan;
    let vcpus = plan.vcpus().flat_map(|(partition, vcpu, _)| {
        let owner = Owner::Vcpu { partition, vcpu };
        PER_VCPU.iter().map(move |&(what, bytes, align)| HeapItem {
            what,
            owner,
            bytes,
            align,
        })
    });
    let tables = partitions
        .iter()
        .enumerate()
        .flat_map(move |(index, part)| {
            let owner = Owner::Partition(index as u16);
            let table = HeapItem {
                what: What::PidPointerTable,
                owner,
                bytes: part.pid_table.bytes(),
                align: 4096,
            };
            let bitmaps = PER_PARTITION
                .iter()
                .map(move |&(what, bytes, align)| HeapItem {
                    what,
                    owner,
                    bytes,
                    align,
                });
            let ept = (0..ept_pages(&plan, index)).map(move |_| HeapItem {
                what: What::EptPage,
                owner,
                bytes: 4096,
                align: 4096,
            });
            core::iter::once(table).chain(bitmaps).chain(ept)
        });
    vcpus.chain(tables)
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
