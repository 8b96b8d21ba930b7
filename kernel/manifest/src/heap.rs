//! The fixed heap's layout types: where each boot-time structure lives in the hypervisor's one heap
//! region, as byte offsets from its (4096-aligned) start. The planner computes it
//! (`crate::heap_layout`), the generated plan carries it (`Plan::heap`; `crate::heap_items` lists
//! its structures), and the kernel indexes
//! the region with it directly: nothing is allocated, replayed or checked again at boot.
//!
//! Order in the region: first, per vCPU, its VMXON region with its host stack right above it (the
//! VMXON region is never touched through the host's linear mapping once VMXON ran, so it is
//! the not-present guard page under the stack at no cost, unmapped by tessera-arch's `vmx::enable`: [`VcpuHeap::host_stack_guard`]);
//! then every other 4 KiB page (VMCSs, virtual-APIC pages, the MSR bitmaps, I/O bitmaps, EPT
//! pages);
//! then the PID-pointer tables (each starts a page, as VT-x requires) with the 64-byte
//! posted-interrupt descriptors right after the first one. Page-sized items first means alignment
//! costs nothing except before a second or later PID-pointer table (a partial page each).

/// Bytes of a page (VMXON region, VMCS, bitmaps, virtual-APIC page, EPT page).
pub const PAGE_BYTES: usize = 4096;

/// Bytes (and alignment) of a posted-interrupt descriptor.
pub const PID_BYTES: usize = 64;

/// Headroom kept above the deepest host-stack use measured (the run summary warns when a vCPU's
/// host stack has less left).
pub const HOST_STACK_MARGIN_BYTES: usize = 2048;

/// Deepest host-stack use measured with the release build over every emulator scenario built with
/// the release profile (`cargo xtask stacks`, which fails when a run goes deeper): 2,000 bytes
/// (`hermit-hello` and `hermit-exit`; 1,968 `hello`, 1,816 most others) since the vCPU is built
/// in the run loop's frame and uhyve console bytes are copied 64 at a time (2,080 before; 3,488
/// before the exit counters and console line moved to the vCPU's shared state; 5,248 before the
/// VMCS field lists and the boot-info block left the stack).
pub const HOST_STACK_MEASURED_RELEASE_BYTES: usize = 2_000;

/// The same with the debug build (no inlining: deeper frames), over every shipped emulator-board
/// manifest and emulator scenario (`cargo xtask stacks --debug`): 7,680 bytes (13,704 before the
/// frames shrank).
pub const HOST_STACK_MEASURED_DEBUG_BYTES: usize = 7_680;

/// Which build the heap is laid out for: host stacks are sized from that build's measured depth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Build {
    #[default]
    Release,
    Debug,
}

impl Build {
    /// Bytes of each host stack (one per physical CPU that runs a vCPU): the measured depth plus
    /// [`HOST_STACK_MARGIN_BYTES`], rounded up to whole pages so that what follows stays
    /// page-aligned.
    pub const fn host_stack_bytes(self) -> usize {
        (self.measured_host_stack_bytes() + HOST_STACK_MARGIN_BYTES).next_multiple_of(PAGE_BYTES)
    }

    /// The deepest host-stack use measured with this build.
    pub const fn measured_host_stack_bytes(self) -> usize {
        match self {
            Build::Release => HOST_STACK_MEASURED_RELEASE_BYTES,
            Build::Debug => HOST_STACK_MEASURED_DEBUG_BYTES,
        }
    }

    /// Cargo's `PROFILE` for a build script (`release` for profiles inheriting from release).
    pub fn from_cargo_profile(profile: &str) -> Self {
        match profile {
            "release" => Build::Release,
            _ => Build::Debug,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Build::Release => "release",
            Build::Debug => "debug",
        }
    }
}

/// What a heap item is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    VmxonRegion,
    Vmcs,
    VirtualApicPage,
    PostedInterruptDescriptor,
    /// The MSR bitmap in which IA32_TSC_DEADLINE reads and writes exit.
    MsrBitmapDeadlineTrapped,
    /// The MSR bitmap in which they pass (to APIC-timer virtualization).
    MsrBitmapDeadlinePassed,
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
            What::MsrBitmapDeadlineTrapped => "MSR bitmap, deadline exits",
            What::MsrBitmapDeadlinePassed => "MSR bitmap, deadline passes",
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
    /// Every partition: their MSR policy is the same (x2APIC as the machine-wide IPIv mode
    /// says), so one bitmap trapping IA32_TSC_DEADLINE serves them all.
    EveryPartition,
    /// Every partition whose timer may run on APIC-timer virtualization (the bitmap passing
    /// IA32_TSC_DEADLINE, which their vCPUs select while their LVT is in TSC-deadline mode).
    TimerVirtualizingPartitions,
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
    /// I/O bitmap A; B is the page after it. `None` for a partition granted no port: its vCPUs
    /// exit on every port access ("unconditional I/O exiting"), with no bitmap pages.
    pub io_bitmaps: Option<usize>,
    /// The first EPT page (the PML4); `ept_pages` pages follow contiguously.
    pub ept: usize,
    pub ept_pages: usize,
}

/// The MSR bitmaps every partition shares (their policy is the same: x2APIC as the machine-wide
/// IPIv mode says; only IA32_TSC_DEADLINE differs between the two). Nothing writes them at run
/// time: a vCPU switches between them by the VMCS's MSR-bitmap address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrBitmapsHeap {
    /// IA32_TSC_DEADLINE exits: every vCPU's bitmap while its timer is not virtualized.
    pub deadline_trapped: usize,
    /// IA32_TSC_DEADLINE passes: present when some partition's timer may be virtualized.
    pub deadline_passed: Option<usize>,
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
    pub msr_bitmaps: MsrBitmapsHeap,
}

impl HeapLayout<'_> {
    /// An empty layout (a plan not yet laid out).
    pub const EMPTY: HeapLayout<'static> = HeapLayout {
        region_bytes: 0,
        host_stack_bytes: 0,
        vcpus: &[],
        partitions: &[],
        msr_bitmaps: MsrBitmapsHeap {
            deadline_trapped: 0,
            deadline_passed: None,
        },
    };
}
