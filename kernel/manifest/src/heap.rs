//! The fixed heap's layout types: where each boot-time structure lives in the hypervisor's one heap
//! region, as byte offsets from its (4096-aligned) start. The planner computes it
//! (`crate::heap_layout`), the generated plan carries it (`Plan::heap`; `crate::heap_items` lists
//! its structures), and the kernel indexes
//! the region with it directly: nothing is allocated, replayed or checked again at boot.
//!
//! Order in the region: first, per vCPU, its VMXON region with its host stack right above it (the
//! VMXON region is never touched through the host's linear mapping once VMXON ran, so it can
//! become a not-present guard page under the stack at no cost: [`VcpuHeap::host_stack_guard`]);
//! then every other 4 KiB page (VMCSs, virtual-APIC pages, MSR bitmaps, I/O bitmaps, EPT pages);
//! then the PID-pointer tables (each starts a page, as VT-x requires) with the 64-byte
//! posted-interrupt descriptors right after the first one. Page-sized items first means alignment
//! costs nothing except before a second or later PID-pointer table (a partial page each).

/// Bytes of a page (VMXON region, VMCS, bitmaps, virtual-APIC page, EPT page).
pub const PAGE_BYTES: usize = 4096;

/// Bytes (and alignment) of a posted-interrupt descriptor.
pub const PID_BYTES: usize = 64;

/// Bytes of each host stack (one per physical CPU that runs a vCPU); a multiple of [`PAGE_BYTES`]
/// so that what follows it stays page-aligned.
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

    /// Alignment the processor (or, for stacks, the ABI) needs.
    pub const fn align(self) -> usize {
        match self {
            What::PostedInterruptDescriptor => PID_BYTES,
            What::HostStack => 16,
            _ => PAGE_BYTES,
        }
    }
}

/// Whose structure an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// vCPU `vcpu` of partition `partition` (and the physical CPU it is pinned to).
    Vcpu { partition: u16, vcpu: u16 },
    /// Partition `.0` (its vCPUs share it).
    Partition(u16),
}

/// One structure in the region: `bytes` at `offset`, aligned to `align`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapItem {
    pub what: What,
    pub owner: Owner,
    pub offset: usize,
    pub bytes: usize,
    pub align: usize,
}

/// Offsets (from the region's start) of one vCPU's structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuHeap {
    pub vmxon: usize,
    pub vmcs: usize,
    pub virtual_apic: usize,
    pub msr_bitmap: usize,
    /// The posted-interrupt descriptor.
    pub pid: usize,
    /// The lowest byte of the host stack (it grows down from `host_stack + host_stack_bytes`).
    pub host_stack: usize,
    /// The page right under the host stack (`host_stack - PAGE_BYTES`): a VMXON region or VMCS,
    /// which the host never touches through its linear mapping once VMXON/VMPTRLD ran, so it can
    /// be unmapped to make an overflow fault.
    pub host_stack_guard: usize,
}

/// Offsets of one partition's structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionHeap {
    /// The PID-pointer table (`pid_table.bytes()` of the plan's partition).
    pub pid_table: usize,
    /// I/O bitmap A; B is the page after it.
    pub io_bitmaps: usize,
    /// The first EPT page (the PML4); `ept_pages` pages follow contiguously.
    pub ept: usize,
    pub ept_pages: usize,
}

/// The whole region: its size and every structure's offset, in plan order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapLayout<'a> {
    /// Bytes of the region (its end is the end of the last item).
    pub region_bytes: usize,
    /// Bytes of each host stack.
    pub host_stack_bytes: usize,
    /// One per vCPU, in plan order ([`Plan::vcpus`]).
    pub vcpus: &'a [VcpuHeap],
    /// One per partition, in plan order.
    pub partitions: &'a [PartitionHeap],
}

impl HeapLayout<'_> {
    /// An empty layout (a plan not yet laid out).
    pub const EMPTY: HeapLayout<'static> = HeapLayout {
        region_bytes: 0,
        host_stack_bytes: HOST_STACK_BYTES,
        vcpus: &[],
        partitions: &[],
    };
}
