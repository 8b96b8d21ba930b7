//! A partition's processor-read tables, built in its planned heap structures (`crate::heap`): the EPT (its memory and granted
//! MMIO, nothing else), the PID-pointer table (exactly the planned entries), and per vCPU the
//! virtual-APIC page, MSR bitmap (x2APIC policy; ICR writes pass only with IPIv) and I/O bitmaps
//! (granted ports only).

use crate::heap;
use core::fmt;
use tessera_arch::vmx::heap_fields::set_pid_entry;
use tessera_arch::vmx::Page;
use tessera_manifest::channel::{Access, ChannelMapping};
use tessera_manifest::{Partition, Plan};

/// Bytes of a 4 KiB page.
const PAGE_BYTES: usize = 4096;
use tessera_vmx::tables::{
    init_virtual_apic_page, EptBuilder, EptError, EptMapping, EptPermissions, IoBitmaps,
    MemoryType, MsrBitmap, PageSlot,
};

/// Why a table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    Ept(EptError),
    /// The builder used a different number of pages than the plan reserved.
    EptPages {
        used: usize,
        planned: usize,
    },
    PidEntry {
        index: usize,
    },
    PortRange {
        base: u16,
    },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Ept(e) => write!(f, "EPT: {e:?}"),
            TableError::EptPages { used, planned } => {
                write!(f, "EPT used {used} pages, the plan reserved {planned}")
            }
            TableError::PidEntry { index } => write!(f, "PID-pointer table entry {index}"),
            TableError::PortRange { base } => write!(f, "I/O port range at {base:#x}"),
        }
    }
}

/// Builds the partition's EPT in its planned pages; returns the PML4 page (the first one).
pub fn build_ept(plan: &Plan<'_>, index: usize) -> Result<&'static Page, TableError> {
    let part = &plan.partitions[index];
    let pages = heap::ept_pages(index);
    let mut slots: heapless::Vec<PageSlot<&'static Page>, { crate::plan::MAX_EPT_PAGES }> = pages
        .iter()
        .map(|page| PageSlot {
            phys: page.phys_addr(),
            page,
        })
        .collect();
    let root = pages.first().ok_or(TableError::Ept(EptError::NoPages))?;
    let mut ept = EptBuilder::new(&mut slots).map_err(TableError::Ept)?;
    ept.map(&EptMapping {
        guest_base: part.memory.guest_base,
        host_base: part.memory.host_base,
        bytes: part.memory.bytes,
        permissions: EptPermissions::RAM,
        memory_type: MemoryType::WriteBack,
    })
    .map_err(TableError::Ept)?;
    for m in part.devices.iter().flat_map(|d| d.mmio.iter()) {
        ept.map(&EptMapping {
            guest_base: m.base,
            host_base: m.base,
            bytes: m.bytes,
            permissions: EptPermissions::MMIO,
            memory_type: MemoryType::Uncacheable,
        })
        .map_err(TableError::Ept)?;
    }
    for m in tessera_manifest::channel::mappings(plan, index as u16) {
        map_channel(&mut ept, m).map_err(TableError::Ept)?;
    }
    let (used, planned) = (ept.pages_used(), pages.len());
    if used != planned {
        return Err(TableError::EptPages { used, planned });
    }
    Ok(root)
}

/// Maps one channel range page by page (4 KiB pages only: host and guest addresses need not agree
/// modulo 2 MiB), write-back, never executable: read-only where the side only reads.
fn map_channel(ept: &mut EptBuilder<'_, &'static Page>, m: ChannelMapping) -> Result<(), EptError> {
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

/// Fills partition `p`'s PID-pointer table: entry T points at the PID of the vCPU the plan names.
pub fn fill_pid_table(plan: &Plan<'_>, p: usize) -> Result<(), TableError> {
    let table = heap::pid_table(p);
    for (index, entry) in plan.partitions[p].pid_table.entries.iter().enumerate() {
        let Some(target) = entry else { continue };
        let pid = heap::pid(plan.vcpu_index(*target));
        set_pid_entry(table, index, pid).map_err(|_| TableError::PidEntry { index })?;
    }
    Ok(())
}

/// The virtual-APIC page and MSR bitmap of one vCPU (ICR writes pass only with IPIv).
/// `global` is the vCPU's position in plan order.
pub fn fill_vcpu_pages(part: &Partition<'_>, vcpu: usize, global: usize, ipiv: bool) {
    let mut vapic = heap::virtual_apic(global);
    init_virtual_apic_page(&mut vapic, part.vcpus[vcpu].virtual_apic_id);
    MsrBitmap::deny_all(heap::msr_bitmap(global)).allow_x2apic(ipiv);
}

/// The I/O bitmaps every vCPU of the partition uses (the partition's granted ports pass).
pub fn fill_partition_io_bitmaps(part: &Partition<'_>, p: usize) -> Result<(), TableError> {
    let [io_bitmap_a, io_bitmap_b] = heap::io_bitmaps(p);
    let mut io = IoBitmaps::deny_all(io_bitmap_a, io_bitmap_b);
    for range in part.devices.iter().flat_map(|d| d.ports.iter()) {
        io.allow(range.base, u32::from(range.count))
            .map_err(|_| TableError::PortRange { base: range.base })?;
    }
    Ok(())
}
