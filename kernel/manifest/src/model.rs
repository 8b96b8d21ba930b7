//! The checked manifest: names resolved to indices, memory placed, APIC IDs chosen, images loaded.
//! The planner turns this into a [`crate::Plan`].

use crate::plan::{
    Console, HostRange, Ipiv, Memory, PortRange, Relocations, RouteMode, Segment, TimerMode,
};
use crate::vectors::VectorSet;
use std::path::PathBuf;

/// A valid board + partitions pair.
#[derive(Clone, Debug)]
pub struct Model {
    pub board: String,
    /// (name, APIC ID) of every board CPU.
    pub board_cpus: Vec<(String, u32)>,
    pub ipiv: Ipiv,
    /// The board's TSC frequency, when stated.
    pub tsc_hz: Option<u64>,
    /// The board's CPUs exit on every bus lock a guest takes (`bus_lock_exit`).
    pub bus_lock_exit: bool,
    pub hypervisor: HostRange,
    /// The board UART the hypervisor drives for its log and the hypercall console.
    pub console: DeviceModel,
    pub partitions: Vec<PartitionModel>,
    /// Shared-memory channels, placed (see [`crate::channel`]).
    pub channels: Vec<ChannelModel>,
    /// What the planner chose on the author's behalf (shown by `explain`).
    pub notes: Vec<String>,
}

/// One partition after checking.
#[derive(Clone, Debug)]
pub struct PartitionModel {
    pub name: String,
    pub vcpus: Vec<VcpuModel>,
    /// First virtual APIC ID; vCPU `i` has `apic_first + i`.
    pub apic_first: u32,
    pub memory: Memory,
    pub image_path: PathBuf,
    /// `None` when planning without images (host builds of the hypervisor).
    pub image: Option<LoadedImage>,
    pub console: Console,
    /// Share of the hypervisor's console (`console_weight`, default 1).
    pub console_weight: u16,
    /// `timer` (default `preferred`).
    pub timer: TimerMode,
    pub devices: Vec<DeviceModel>,
    pub routes: Vec<RouteModel>,
}

/// A channel after checking: partitions resolved, addresses placed, vectors checked.
#[derive(Clone, Debug)]
pub struct ChannelModel {
    pub name: String,
    pub writer: usize,
    pub writer_guest_base: u64,
    pub readers: Vec<crate::channel::ChannelReader>,
    pub ring_bytes: u64,
    pub host_base: u64,
    pub mode: RouteMode,
    pub doorbell_vector: u8,
    pub credit_vector: u8,
}

/// One vCPU after checking.
#[derive(Clone, Debug)]
pub struct VcpuModel {
    pub board_cpu: String,
    pub physical_apic_id: u32,
    pub starts_at_boot: bool,
}

/// An ELF image's loadable parts.
#[derive(Clone, Debug)]
pub struct LoadedImage {
    pub bytes: Vec<u8>,
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Set for a Hermit application (see [`crate::hermit`]).
    pub hermit: Option<HermitModel>,
}

/// A Hermit application's planned boot (the owned form of [`crate::plan::HermitBoot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HermitModel {
    pub load_bias: u64,
    pub relocations: Relocations,
    pub stack_guest: u64,
    pub boot_info_guest: u64,
    pub boot_info: Vec<u8>,
    pub fdt_guest: u64,
    pub fdt: Vec<u8>,
}

/// A board device.
#[derive(Clone, Debug)]
pub struct DeviceModel {
    pub name: String,
    pub ports: Vec<PortRange>,
    pub mmio: Vec<HostRange>,
    pub irqs: Vec<u8>,
    /// The device can master the bus (reaches any host-physical address: no IOMMU).
    pub dma: bool,
}

/// A route to partition `to`.
#[derive(Clone, Debug)]
pub struct RouteModel {
    pub to: usize,
    pub mode: RouteMode,
    pub vectors: VectorSet,
}

impl ChannelModel {
    /// The plan's view of this channel (borrowing its readers).
    pub fn as_plan(&self) -> crate::channel::Channel<'_> {
        crate::channel::Channel {
            name: &self.name,
            writer: self.writer as u16,
            writer_guest_base: self.writer_guest_base,
            readers: &self.readers,
            ring_bytes: self.ring_bytes,
            host_base: self.host_base,
            mode: self.mode,
            doorbell_vector: self.doorbell_vector,
            credit_vector: self.credit_vector,
        }
    }
}

impl PartitionModel {
    /// Virtual APIC IDs `first..=last`.
    pub fn apic_range(&self) -> (u32, u32) {
        (
            self.apic_first,
            self.apic_first + self.vcpus.len() as u32 - 1,
        )
    }
}
