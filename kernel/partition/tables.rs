//! A partition's processor-read tables, built in its planned heap structures (`crate::heap`, each
//! taken once): the EPT (its memory and granted MMIO, nothing else), the PID-pointer table (exactly the planned entries), the I/O bitmaps
//! (granted ports only; none for a partition granted no port), per vCPU the virtual-APIC page,
//! and once for every partition the MSR bitmaps (x2APIC policy, ICR writes passing only with
//! IPIv; IA32_TSC_DEADLINE trapped in one, passed in the other).

use crate::heap::{self, Descriptors};
use core::fmt;
use tessera_arch::vmx::{
    Ept, IoBitmapPair, MsrBitmaps, PageWriter, PidPointerTable, TableError as Sealing,
    VirtualApicPage,
};
use tessera_manifest::channel::{Access, ChannelMapping};
use tessera_manifest::{Partition, Plan};
use tessera_vmx::tables::{EptBuilder, EptError, EptMapping, EptPermissions, MemoryType};

/// Bytes of a 4 KiB page.
const PAGE_BYTES: usize = 4096;

/// Why a table could not be built: tessera-arch's builder refused (the EPT, a port range, a
/// PID-pointer entry, the table's shape, or the shared MSR bitmaps built already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableError(pub Sealing);

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The vCPU's own pages, built: its virtual-APIC page.
pub struct VcpuPages {
    pub virtual_apic: VirtualApicPage,
}

/// Builds the partition's EPT in its planned pages (the PML4 first), sealed.
pub fn build_ept(plan: &Plan<'_>, index: usize) -> Result<Ept, TableError> {
    let part = &plan.partitions[index];
    Ept::build::<{ crate::plan::MAX_EPT_PAGES }>(heap::take_ept_pages(index), |ept| {
        ept.map(&EptMapping {
            guest_base: part.memory.guest_base,
            host_base: part.memory.host_base,
            bytes: part.memory.bytes,
            permissions: EptPermissions::RAM,
            memory_type: MemoryType::WriteBack,
        })?;
        for m in part.devices.iter().flat_map(|d| d.mmio.iter()) {
            ept.map(&EptMapping {
                guest_base: m.base,
                host_base: m.base,
                bytes: m.bytes,
                permissions: EptPermissions::MMIO,
                memory_type: MemoryType::Uncacheable,
            })?;
        }
        for m in tessera_manifest::channel::mappings(plan, index as u16) {
            map_channel(ept, m)?;
        }
        Ok(())
    })
    .map_err(TableError)
}

/// Maps one channel range page by page (4 KiB pages only: host and guest addresses need not agree
/// modulo 2 MiB), write-back, never executable: read-only where the side only reads.
fn map_channel(
    ept: &mut EptBuilder<'_, PageWriter<'static>>,
    m: ChannelMapping,
) -> Result<(), EptError> {
    let permissions = match m.access {
        Access::ReadOnly => EptPermissions::READ,
        Access::ReadWrite => EptPermissions::READ | EptPermissions::WRITE,
    };
    for offset in (0..m.bytes).step_by(PAGE_BYTES) {
        ept.map(&EptMapping {
            guest_base: m.guest_base + offset,
            host_base: m.host_base + offset,
            bytes: PAGE_BYTES as u64,
            permissions,
            memory_type: MemoryType::WriteBack,
        })?;
    }
    Ok(())
}

/// Builds partition `p`'s PID-pointer table: entry T points at the PID of the vCPU the plan
/// names (`pids`, in plan order), the others stay invalid.
pub fn build_pid_table(
    plan: &Plan<'_>,
    p: usize,
    pids: &Descriptors,
) -> Result<PidPointerTable, TableError> {
    let part = &plan.partitions[p];
    let entries = part
        .pid_table
        .entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| entry.map(|target| (index, pids[plan.vcpu_index(target)])));
    PidPointerTable::build(heap::take_pid_table(p), part.pid_table.last_index, entries)
        .map_err(TableError)
}

/// The virtual-APIC page of one vCPU. `global` is the vCPU's position in plan order.
pub fn build_vcpu_pages(part: &Partition<'_>, vcpu: usize, global: usize) -> VcpuPages {
    let apic_id = part.vcpus[vcpu].virtual_apic_id;
    VcpuPages {
        virtual_apic: VirtualApicPage::init(heap::take_virtual_apic(global), apic_id),
    }
}

/// The MSR bitmaps every partition shares, built once (ICR writes pass only with IPIv).
pub fn build_msr_bitmaps(ipiv: bool) -> Result<MsrBitmaps, TableError> {
    let (trapped, passed) = heap::take_msr_bitmaps();
    MsrBitmaps::build(trapped, passed, ipiv).map_err(TableError)
}

/// The I/O bitmaps every vCPU of the partition uses (the partition's granted ports pass), or
/// `None` for a partition granted no port (the plan gave it none: every port access exits).
pub fn build_io_bitmaps(
    part: &Partition<'_>,
    p: usize,
) -> Result<Option<IoBitmapPair>, TableError> {
    let Some(pages) = heap::take_io_bitmaps(p) else {
        return Ok(None);
    };
    let granted = part
        .devices
        .iter()
        .flat_map(|d| d.ports.iter())
        .map(|range| (range.base, u32::from(range.count)));
    IoBitmapPair::build(pages, granted)
        .map(Some)
        .map_err(TableError)
}
