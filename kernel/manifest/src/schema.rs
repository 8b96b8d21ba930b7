//! The two manifest files as written: `board/*.toml` (machine facts) and `partitions/*.toml`
//! (product decisions). Every table rejects unknown fields; spans locate errors.

use crate::size::Bytes;
use serde::Deserialize;
use toml::Spanned;

/// `board/<name>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    /// Name that partitions files refer to with `board = "..."`.
    pub name: Spanned<String>,
    /// Informational CPU model (e.g. "Sapphire Rapids").
    pub cpu_model: Option<String>,
    /// True when the CPUs support IPI virtualization.
    pub ipiv: bool,
    /// TSC frequency in Hz (what guests are told in CPUID leaves 15H/16H and their boot info);
    /// without it the hypervisor reads the CPU's own CPUID leaf 15H or 16H at boot.
    pub tsc_hz: Option<Spanned<u64>>,
    /// True when the CPUs have VMM bus-lock detection (a VM exit after every bus lock a guest
    /// takes: secondary control bit 30). Without it (the default), `explain` says that the board
    /// cannot contain a bus-locking guest.
    #[serde(default)]
    pub bus_lock_exit: bool,
    pub hypervisor: HypervisorSpec,
    #[serde(rename = "cpu")]
    pub cpus: Vec<Spanned<CpuSpec>>,
    #[serde(rename = "ram")]
    pub ram: Vec<Spanned<RangeSpec>>,
    #[serde(rename = "device", default)]
    pub devices: Vec<Spanned<DeviceSpec>>,
    /// Physical ranges the firmware keeps (ACPI tables, PCI configuration windows, ...).
    #[serde(rename = "reserved", default)]
    pub reserved: Vec<Spanned<ReservedSpec>>,
}

/// `[hypervisor]`: the host-physical range the hypervisor image and heap live in, and its console.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypervisorSpec {
    pub base: Spanned<Bytes>,
    pub bytes: Spanned<Bytes>,
    /// Board device the hypervisor owns for its log and the guests' hypercall console: a 16550
    /// UART whose first port range the kernel drives.
    pub console: Spanned<String>,
}

/// `[[cpu]]`: one logical CPU.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    pub name: Spanned<String>,
    pub apic_id: Spanned<u32>,
    pub package: u32,
    pub core: u32,
    pub thread: u32,
}

/// `[[ram]]` or an MMIO range: `base` and `bytes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    pub base: Spanned<Bytes>,
    pub bytes: Spanned<Bytes>,
}

/// `[[reserved]]`: a physical range the firmware keeps; no RAM, MMIO or hypervisor range may use it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservedSpec {
    pub name: Spanned<String>,
    pub base: Spanned<Bytes>,
    pub bytes: Spanned<Bytes>,
}

/// `[[device]]`: I/O ports, MMIO ranges and IRQs that move together to one owner.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub ports: Vec<Spanned<PortSpec>>,
    #[serde(default)]
    pub mmio: Vec<Spanned<RangeSpec>>,
    #[serde(default)]
    pub irqs: Vec<u8>,
    /// True when the device can master the bus (PCI devices): it reaches any host-physical
    /// address, since Tessera programs no IOMMU. Default: false (legacy UARTs cannot).
    #[serde(default)]
    pub dma: bool,
}

/// I/O ports `base..base + count`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    pub base: u16,
    pub count: u16,
}

/// `partitions/<name>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// The board's `name`.
    pub board: Spanned<String>,
    pub ipiv: Spanned<IpivSpec>,
    #[serde(rename = "partition")]
    pub partitions: Vec<Spanned<PartitionSpec>>,
    /// Shared-memory channels between partitions.
    #[serde(rename = "channel", default)]
    pub channels: Vec<Spanned<ChannelSpec>>,
}

/// `[[channel]]`: a region one partition writes and others read, with doorbells both ways.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: Spanned<String>,
    /// The partition that maps the ring read-write.
    pub writer: Spanned<String>,
    /// Partitions that map the ring read-only (each owns one acknowledgement page).
    pub readers: Spanned<Vec<Spanned<String>>>,
    /// Bytes of the ring (a non-zero multiple of 4 KiB).
    pub bytes: Spanned<Bytes>,
    /// Host-physical placement. Default: chosen by the planner in board RAM.
    pub host_base: Option<Spanned<Bytes>>,
    /// Where the writer sees the ring. Default: chosen by the planner above its memory.
    pub writer_guest_base: Option<Spanned<Bytes>>,
    /// Where every reader sees the ring. Default: chosen by the planner per reader.
    pub reader_guest_base: Option<Spanned<Bytes>>,
    /// `"exitless"` (the two sides trust each other) or `"trapped"` (only these two vectors pass).
    pub doorbell: Spanned<RouteModeSpec>,
    /// Vector the writer raises on each reader.
    pub doorbell_vector: Spanned<u32>,
    /// Vector each reader raises on the writer (credit return).
    pub credit_vector: Spanned<u32>,
}

/// `ipiv = "required" | "preferred" | "off"`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IpivSpec {
    Required,
    Preferred,
    Off,
}

/// `[[partition]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    pub name: Spanned<String>,
    /// Board CPU names; vCPU `i` runs on `cpus[i]`.
    pub cpus: Spanned<Vec<Spanned<String>>>,
    /// CPUs that run at boot; the others wait for INIT/SIPI from the guest. Default: all.
    pub boot_cpus: Option<Spanned<Vec<Spanned<String>>>>,
    /// Virtual APIC IDs `first..=last` (vCPU `i` gets `first + i`). Default: chosen by the planner.
    pub apic_ids: Option<Spanned<ApicIdsSpec>>,
    pub memory: Spanned<Bytes>,
    /// Host-physical placement. Default: the lowest free 2 MiB-aligned board RAM.
    pub host_base: Option<Spanned<Bytes>>,
    /// Where the guest sees its memory. Default: 0.
    pub guest_base: Option<Spanned<Bytes>>,
    /// ELF64 image, relative to this manifest file.
    pub image: Spanned<String>,
    /// `"hypercall"` (default) or a board device (a name or a [`DeviceRef`] table).
    pub console: Option<Spanned<DeviceRef>>,
    /// Share of the hypervisor's console against the other hypercall-console partitions (1-100,
    /// default 1).
    pub console_weight: Option<Spanned<u32>>,
    #[serde(default)]
    pub devices: Vec<Spanned<DeviceRef>>,
    /// Partitions this one may share physical cores with (SMT siblings given to both).
    #[serde(default)]
    pub share_cores_with: Vec<Spanned<String>>,
    /// Which path the guest's TSC-deadline timer takes: `"virtualized"` (APIC-timer
    /// virtualization, refuse to boot without it), `"preferred"` (default: virtualized when the CPU
    /// offers it, trapped otherwise) or `"trapped"` (always the trapped path).
    pub timer: Option<Spanned<TimerSpec>>,
    /// True: `boot_cpus` leaves out vCPU 0 on purpose (another vCPU starts the guest).
    pub vcpu0_waits_for_sipi: Option<Spanned<bool>>,
    #[serde(rename = "route", default)]
    pub routes: Vec<Spanned<RouteSpec>>,
}

/// A device a partition names: `"nvme0"`, or `{ name = "nvme0", dma = "unconfined" }`, which
/// accepts that a bus-mastering device reaches all host memory (Tessera programs no IOMMU).
#[derive(Debug)]
pub struct DeviceRef {
    pub name: String,
    pub dma: Option<Spanned<DmaSpec>>,
}

/// `dma = "unconfined"`: the only DMA acknowledgement there is while no IOMMU is programmed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DmaSpec {
    Unconfined,
}

/// What a [`DeviceRef`] may look like (for error messages).
pub const DEVICE_REF: &str =
    "a board device name, or a table { name = \"<device>\", dma = \"unconfined\" }";

impl<'de> Deserialize<'de> for DeviceRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DeviceRef, D::Error> {
        d.deserialize_any(DeviceRefVisitor)
    }
}

struct DeviceRefVisitor;

/// The table form of a [`DeviceRef`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceTable {
    name: String,
    dma: Option<Spanned<DmaSpec>>,
}

impl<'de> serde::de::Visitor<'de> for DeviceRefVisitor {
    type Value = DeviceRef;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(DEVICE_REF)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DeviceRef, E> {
        Ok(DeviceRef {
            name: v.to_string(),
            dma: None,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DeviceRef, A::Error> {
        let table = DeviceTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(DeviceRef {
            name: table.name,
            dma: table.dma,
        })
    }
}

/// `timer = "virtualized" | "preferred" | "trapped"`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TimerSpec {
    Virtualized,
    Preferred,
    Trapped,
}

/// `apic_ids = { first = 0, last = 1 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApicIdsSpec {
    pub first: u32,
    pub last: u32,
}

/// `[[partition.route]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub to: Spanned<String>,
    pub mode: Spanned<RouteModeSpec>,
    /// Allowed vectors (trapped routes only).
    pub vectors: Option<Spanned<Vec<Spanned<u32>>>>,
}

/// `mode = "exitless" | "trapped"`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RouteModeSpec {
    Exitless,
    Trapped,
}
