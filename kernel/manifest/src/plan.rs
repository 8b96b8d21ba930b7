//! The plan: everything the kernel needs from a manifest, as `no_std` types over borrowed slices.
//!
//! `build.rs` writes these as `'static` items into `$OUT_DIR/manifest.rs`; on the host the planner
//! builds them in an arena. Indices (`u16`) refer to positions in `Plan::partitions` and
//! `Partition::vcpus`.
//!
//! How the kernel uses it (`kernel/plan.rs` includes the generated file):
//! - `HEAP_BYTES` (= `PLAN.heap.region_bytes`) sizes a 4096-aligned static heap region; the
//!   kernel finds each structure at the offset [`Plan::heap`] gives it (see [`crate::heap`]).
//! - `PARTITIONS`, `VCPUS`, `CPU_SLOTS` ([`Plan::cpu_slots`]) and `MAX_EPT_PAGES` size the kernel's
//!   static per-partition, per-vCPU and per-CPU arrays exactly.
//! - Each vCPU runs pinned on the board CPU with `physical_apic_id`; vCPUs with
//!   `starts_at_boot == false` enter wait-for-SIPI.
//! - Each partition's PID-pointer table gets `entries.len()` 8-byte entries: entry `T` is
//!   [`crate::ipiv_model::entry_value`] (the target vCPU's posted-interrupt descriptor address | 1,
//!   or 0); the VMCS "last PID-pointer index" is `last_index`.
//! - The hypervisor's own console is the 16550 UART at `CONSOLE_PORT` (`console.ports[0].base`).
//! - Guest memory maps `memory.guest_base..+bytes` to `memory.host_base`; device MMIO is mapped
//!   1:1; the EPT follows the page rule in [`crate::ept`].
//! - Image segments are copied from `image.bytes` (the packed load image: the `PT_LOAD` file
//!   contents only, see `pack`) to guest-physical addresses; the BSP starts at
//!   `image.entry`. A Hermit application (`image.hermit`) is then relocated and given its boot
//!   information, and every vCPU starts at the entry as uhyve starts it (see [`crate::hermit`]).

use crate::vectors::VectorSet;

/// A whole machine plan: board facts plus every partition, its tables and the heap size.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Board name (`name` in the board file).
    pub board: &'a str,
    /// Every CPU the board declares, in board order (the kernel checks the machine against these).
    pub board_cpus: &'a [BoardCpu<'a>],
    /// What the manifest asked for and whether the board can honour it.
    pub ipiv: Ipiv,
    /// The board's TSC frequency in Hz; `None`: the kernel reads CPUID leaf 15H or 16H.
    pub tsc_hz: Option<u64>,
    /// The board states VMM bus-lock detection (`bus_lock_exit`): the kernel refuses a CPU
    /// without it, since the board's promise that bus locks are contained would not hold.
    pub bus_lock_exit: bool,
    /// Host-physical range reserved for the hypervisor itself.
    pub hypervisor: HostRange,
    /// The board UART the hypervisor drives (`[hypervisor] console`): a 16550 at
    /// `console.ports[0].base`, also exported as `CONSOLE_PORT` by the generated file.
    pub console: Device<'a>,
    /// Partitions in manifest order.
    pub partitions: &'a [Partition<'a>],
    /// Shared-memory channels in manifest order (see [`crate::channel`]).
    pub channels: &'a [Channel<'a>],
    /// Where every boot-time structure lives in the hypervisor's 4096-aligned heap region.
    pub heap: crate::heap::HeapLayout<'a>,
}

/// One shared-memory channel (the rule and its methods: [`crate::channel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel<'a> {
    pub name: &'a str,
    /// Partition index of the writer.
    pub writer: u16,
    pub writer_guest_base: u64,
    pub readers: &'a [ChannelReader],
    /// Bytes of the ring (a multiple of 4 KiB).
    pub ring_bytes: u64,
    /// Host-physical base of the ring; the acknowledgement pages follow it.
    pub host_base: u64,
    /// How both doorbells travel.
    pub mode: RouteMode,
    /// Raised by the writer on each reader.
    pub doorbell_vector: u8,
    /// Raised by each reader on the writer.
    pub credit_vector: u8,
}

/// One reader of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelReader {
    /// Partition index.
    pub partition: u16,
    pub guest_base: u64,
}

/// One CPU of the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardCpu<'a> {
    pub name: &'a str,
    pub apic_id: u32,
}

/// IPI virtualization: the manifest's wish and the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipiv {
    pub mode: IpivMode,
    /// True when the kernel must enable IPIv (mode is not `Off` and the board has it).
    pub enabled: bool,
}

/// `ipiv = "required" | "preferred" | "off"` in the partitions file: tessera-vmx's control
/// selection input, which the kernel hands to it as planned.
pub use tessera_vmx::select::IpivMode;

/// `timer = "virtualized" | "preferred" | "trapped"`: the path of a partition's TSC-deadline
/// timer. One-shot and periodic modes are always trapped (the processor's guest timer models
/// TSC-deadline mode only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimerMode {
    /// APIC-timer virtualization: refuse to boot on a CPU without it.
    Virtualized,
    /// APIC-timer virtualization when the CPU offers it, the trapped path otherwise.
    #[default]
    Preferred,
    /// Always the trapped path (one exit per arm, one per expiry).
    Trapped,
}

impl TimerMode {
    /// The spelling used in manifests and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimerMode::Virtualized => "virtualized",
            TimerMode::Preferred => "preferred",
            TimerMode::Trapped => "trapped",
        }
    }

    /// Whether the partition's vCPUs use APIC-timer virtualization on a CPU that does (`offered`)
    /// or does not offer it; `None` for `Virtualized` on a CPU without it (boot is refused).
    pub const fn virtualized(self, offered: bool) -> Option<bool> {
        match (self, offered) {
            (TimerMode::Trapped, _) => Some(false),
            (TimerMode::Virtualized, false) => None,
            (_, offered) => Some(offered),
        }
    }
}

/// A host-physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostRange {
    pub base: u64,
    pub bytes: u64,
}

/// One partition: its vCPUs, memory, image, console, devices, routes and PID-pointer table.
#[derive(Clone, Copy, Debug)]
pub struct Partition<'a> {
    pub name: &'a str,
    /// vCPU `i` is `vcpus[i]`; index 0 is the guest's bootstrap processor.
    pub vcpus: &'a [Vcpu<'a>],
    pub memory: Memory,
    /// `None` only in host builds that plan without image bytes.
    pub image: Option<Image<'a>>,
    pub console: Console,
    /// Share of the hypervisor's console against the other partitions printing through it.
    pub console_weight: u16,
    /// Which path the guest's TSC-deadline timer takes (`timer` in the manifest).
    pub timer: TimerMode,
    /// Devices passed through to this partition (a console device is among them).
    pub devices: &'a [Device<'a>],
    /// Routes from this partition to others, in manifest order.
    pub routes: &'a [Route<'a>],
    pub pid_table: PidTable<'a>,
}

/// One vCPU, pinned 1:1 to a physical CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vcpu<'a> {
    /// The board CPU's name.
    pub board_cpu: &'a str,
    pub physical_apic_id: u32,
    /// The APIC ID the guest sees (and uses as an IPI destination).
    pub virtual_apic_id: u32,
    /// False: the vCPU waits in wait-for-SIPI until the guest starts it with INIT/SIPI.
    pub starts_at_boot: bool,
}

/// Guest-physical `[guest_base, guest_base + bytes)` maps to host-physical `host_base..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    pub guest_base: u64,
    pub host_base: u64,
    pub bytes: u64,
}

/// A loaded ELF image: the kernel copies each segment and zero-fills the rest of its memory.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// The load image: the file contents of the ELF's `PT_LOAD` segments, packed one after the
    /// other at build time (no ELF headers, no alignment padding).
    pub bytes: &'a [u8],
    /// Guest-physical entry point.
    pub entry: u64,
    pub segments: &'a [Segment],
    /// Set for a Hermit application: how it is relocated and started.
    pub hermit: Option<HermitBoot<'a>>,
}

/// How a Hermit application is started (uhyve's boot ABI, entry version 4), all planned at build
/// time: its segments (in [`Image::segments`]) are already placed at `load_bias` + `p_vaddr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HermitBoot<'a> {
    /// Added to every address the ELF file holds (segments, entry, relocation addends).
    pub load_bias: u64,
    /// The file's `R_X86_64_RELATIVE` relocations (every one checked at build time).
    pub relocations: Relocations,
    /// RSP at entry: the lowest address of the boot stack (uhyve's convention).
    pub stack_guest: u64,
    /// RDI at entry: where `boot_info` (hermit-entry's `RawBootInfo`) is written.
    pub boot_info_guest: u64,
    pub boot_info: &'a [u8],
    /// Where `fdt` (the flattened device tree the boot information points at) is written.
    pub fdt_guest: u64,
    pub fdt: &'a [u8],
}

/// `count` `Elf64_Rela` entries at `offset` in the load image ([`Image::bytes`]; the table lies
/// in a segment's file contents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocations {
    pub offset: u64,
    pub count: u64,
}

/// One `PT_LOAD` segment: copy `bytes[offset..][..file_bytes]` of the load image
/// ([`Image::bytes`]) to guest-physical `guest_phys`, then zero `memory_bytes - file_bytes` bytes
/// after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub guest_phys: u64,
    /// Where the segment's file contents start in the load image.
    pub offset: u64,
    pub file_bytes: u64,
    pub memory_bytes: u64,
}

/// Where a partition's console output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// The guest prints through the hypervisor's console hypercall (prefixed with its name on COM1).
    Hypercall,
    /// The guest owns this device (index into `Partition::devices`).
    Device(u16),
}

/// A board device passed through: I/O ports open in the I/O bitmaps, MMIO identity-mapped in EPT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device<'a> {
    pub name: &'a str,
    pub ports: &'a [PortRange],
    pub mmio: &'a [HostRange],
    pub irqs: &'a [u8],
    /// The device can master the bus: with no IOMMU programmed, it reaches all host memory.
    pub dma: bool,
}

/// I/O ports `base..base + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub base: u16,
    pub count: u16,
}

/// An IPI route from the owning partition to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    /// Index of the target partition.
    pub to: u16,
    pub to_name: &'a str,
    pub mode: RouteMode,
    /// Vectors the route lets through (`16..=255` for exitless routes).
    pub vectors: VectorSet,
}

/// How a route's IPIs are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMode {
    /// Through the sender's PID-pointer table; the processor cannot filter vectors.
    Exitless,
    /// Through an APIC-write exit; the hypervisor checks the vector allow-list.
    Trapped,
}

impl RouteMode {
    /// The spelling used in manifests and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            RouteMode::Exitless => "exitless",
            RouteMode::Trapped => "trapped",
        }
    }
}

/// A partition's PID-pointer table: entry `T` (virtual APIC ID) points at a vCPU's
/// posted-interrupt descriptor or is zero. `entries.len() == last_index + 1`.
#[derive(Clone, Copy, Debug)]
pub struct PidTable<'a> {
    pub entries: &'a [Option<VcpuRef>],
    /// Value for the VMCS field "last PID-pointer index".
    pub last_index: u16,
}

impl PidTable<'_> {
    /// Size of the table in memory.
    pub const fn bytes(&self) -> usize {
        8 * self.entries.len()
    }
}

/// The vCPU whose posted-interrupt descriptor a table entry points at: tessera-vmx's reference to
/// a vCPU (partition index, vCPU index in plan order), the one the IPI route decision names too.
pub use tessera_vmx::ipi::VcpuRef;

impl<'a> Plan<'a> {
    /// The vCPU a PID-table entry names.
    pub fn vcpu(&self, target: VcpuRef) -> &'a Vcpu<'a> {
        &self.partitions[target.partition as usize].vcpus[target.vcpu as usize]
    }

    /// CPUs the kernel brings up, so its per-CPU slots: the boot CPU plus one per other board CPU
    /// that hosts a vCPU. Which CPU boots is only known at run time, so this assumes the boot CPU
    /// hosts none unless every board CPU hosts one.
    pub fn cpu_slots(&self) -> usize {
        let distinct = self
            .vcpus()
            .enumerate()
            .filter(|&(i, (_, _, v))| {
                !self
                    .vcpus()
                    .take(i)
                    .any(|(_, _, earlier)| earlier.physical_apic_id == v.physical_apic_id)
            })
            .count();
        (distinct + 1).min(self.board_cpus.len().max(1))
    }

    /// The position of `target` in plan order ([`Plan::vcpus`]): the index the kernel keeps each
    /// vCPU's heap items, launch data and shared state at.
    pub fn vcpu_index(&self, target: VcpuRef) -> usize {
        let before: usize = self.partitions[..usize::from(target.partition)]
            .iter()
            .map(|p| p.vcpus.len())
            .sum();
        before + usize::from(target.vcpu)
    }

    /// Every vCPU in plan order (partition order, then vCPU order), with its partition index.
    pub fn vcpus(&self) -> impl Iterator<Item = (u16, u16, &'a Vcpu<'a>)> + 'a {
        let partitions: &'a [Partition<'a>] = self.partitions;
        partitions.iter().enumerate().flat_map(|(p, part)| {
            part.vcpus
                .iter()
                .enumerate()
                .map(move |(v, vcpu)| (p as u16, v as u16, vcpu))
        })
    }
}
