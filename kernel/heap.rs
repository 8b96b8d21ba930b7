//! Carving the fixed heap: a static region of exactly `HEAP_BYTES`, allocated item by item in the
//! order of `tessera_manifest::heap::sequence(&PLAN)` (the sequence the planner sized the heap
//! with). A failed item is a boot error that names it. Nothing is allocated after this.

use crate::plan::{HEAP_BYTES, MAX_EPT_PAGES, PARTITIONS, PLAN, VCPUS};
use core::fmt;
use core::sync::atomic::AtomicU64;
use tessera_arch::fixed_heap::{HeapFull, HeapRegion, HostStack, WrongBlock};
use tessera_arch::vmx::Page;
use tessera_manifest::heap::{HeapItem, Owner, What};
use tessera_vmx::tables::{ndst_x2apic, PostedInterruptDescriptor};

/// The posted-interrupt notification vector (host IDT vector; Tessera's host never enables
/// interrupts, so a notification that arrives in VMX root stays pending until the next VM entry,
/// where the processor handles it as a posted interrupt).
pub const NOTIFICATION_VECTOR: u8 = 0xF2;

static REGION: HeapRegion<HEAP_BYTES> = HeapRegion::new();

/// One vCPU's structures.
pub struct VcpuMemory {
    pub vmxon: &'static Page,
    pub vmcs: &'static Page,
    pub virtual_apic: &'static Page,
    pub pid: &'static PostedInterruptDescriptor,
    /// The vCPU's own MSR bitmap (its timer passes IA32_TSC_DEADLINE while virtualized).
    pub msr_bitmap: &'static Page,
    /// Taken by the vCPU's CPU when it moves onto it.
    pub host_stack: Option<HostStack>,
}

/// One partition's structures; its vCPUs share the I/O bitmaps.
pub struct PartitionMemory {
    pub pid_table: &'static [AtomicU64],
    pub io_bitmap_a: Option<&'static Page>,
    pub io_bitmap_b: Option<&'static Page>,
    pub ept_pages: heapless::Vec<&'static Page, MAX_EPT_PAGES>,
}

impl PartitionMemory {
    /// The two I/O bitmaps, once both are carved.
    pub fn io_bitmaps(&self) -> Option<[&'static Page; 2]> {
        Some([self.io_bitmap_a?, self.io_bitmap_b?])
    }
}

/// Everything carved, in plan order.
pub struct Carved {
    pub vcpus: heapless::Vec<VcpuMemory, VCPUS>,
    pub partitions: heapless::Vec<PartitionMemory, PARTITIONS>,
    pub used_bytes: usize,
    pub size_bytes: usize,
}

/// Why carving stopped, naming the item.
#[derive(Debug)]
pub enum CarveError {
    AlreadyCarved,
    Full {
        index: usize,
        item: HeapItem,
        full: HeapFull,
    },
    Wrong {
        index: usize,
        item: HeapItem,
        wrong: WrongBlock,
    },
    /// The sequence does not have the shape the kernel expects (e.g. too many vCPUs).
    Shape {
        index: usize,
        item: HeapItem,
    },
}

impl fmt::Display for CarveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CarveError::AlreadyCarved => write!(f, "the heap was already carved"),
            CarveError::Full { index, item, full } => write!(
                f,
                "heap item {index} ({} of {:?}, {} bytes aligned {}) does not fit the {HEAP_BYTES}-byte heap",
                item.what.as_str(), item.owner, full.bytes, full.align
            ),
            CarveError::Wrong { index, item, wrong } => write!(
                f,
                "heap item {index} ({} of {:?}) cannot hold a {}: {} bytes at {:#x}",
                item.what.as_str(), item.owner, wrong.what, wrong.bytes, wrong.addr
            ),
            CarveError::Shape { index, item } => write!(
                f,
                "heap item {index} ({} of {:?}) is not where the kernel expects it",
                item.what.as_str(), item.owner
            ),
        }
    }
}

/// The parts of one vCPU as they arrive.
#[derive(Default)]
struct Parts {
    pages: [Option<&'static Page>; 4],
    pid: Option<&'static PostedInterruptDescriptor>,
    stack: Option<HostStack>,
}

impl Parts {
    fn finish(self) -> Option<VcpuMemory> {
        let [vmxon, vmcs, virtual_apic, msr_bitmap] = self.pages;
        Some(VcpuMemory {
            vmxon: vmxon?,
            vmcs: vmcs?,
            virtual_apic: virtual_apic?,
            pid: self.pid?,
            msr_bitmap: msr_bitmap?,
            host_stack: Some(self.stack?),
        })
    }
}

/// Carves the heap; call once, on the boot CPU.
pub fn carve() -> Result<Carved, CarveError> {
    let mut heap = REGION.take().ok_or(CarveError::AlreadyCarved)?;
    let mut carved = Carved {
        vcpus: heapless::Vec::new(),
        partitions: heapless::Vec::new(),
        used_bytes: 0,
        size_bytes: 0,
    };
    let mut parts = Parts::default();
    let mut current: Option<(u16, u16)> = None;
    for (index, item) in tessera_manifest::heap::sequence(&PLAN).enumerate() {
        let block = heap
            .alloc(item.bytes, item.align)
            .map_err(|full| CarveError::Full { index, item, full })?;
        let wrong = |wrong| CarveError::Wrong { index, item, wrong };
        let shape = CarveError::Shape { index, item };
        match item.owner {
            Owner::Vcpu { partition, vcpu } => {
                if current.is_some_and(|c| c != (partition, vcpu)) {
                    push_vcpu(&mut carved, core::mem::take(&mut parts), index, item)?;
                }
                current = Some((partition, vcpu));
                let apic =
                    PLAN.partitions[partition as usize].vcpus[vcpu as usize].physical_apic_id;
                put(&mut parts, item.what, block, apic).map_err(wrong)?;
            }
            Owner::Partition(p) => {
                if current.take().is_some() {
                    push_vcpu(&mut carved, core::mem::take(&mut parts), index, item)?;
                }
                put_partition(&mut carved, p, item.what, block, index, item)
                    .map_err(|e| e.unwrap_or(shape))?;
            }
        }
    }
    carved.used_bytes = heap.used_bytes();
    carved.size_bytes = heap.size_bytes();
    Ok(carved)
}

fn push_vcpu(c: &mut Carved, parts: Parts, index: usize, item: HeapItem) -> Result<(), CarveError> {
    let memory = parts.finish().ok_or(CarveError::Shape { index, item })?;
    c.vcpus
        .push(memory)
        .map_err(|_| CarveError::Shape { index, item })
}

fn put(
    parts: &mut Parts,
    what: What,
    block: tessera_arch::fixed_heap::Block,
    apic: u32,
) -> Result<(), WrongBlock> {
    let slot = match what {
        What::VmxonRegion => 0,
        What::Vmcs => 1,
        What::VirtualApicPage => 2,
        What::MsrBitmap => 3,
        What::PostedInterruptDescriptor => {
            parts.pid = Some(block.into_pid(NOTIFICATION_VECTOR, ndst_x2apic(apic))?);
            return Ok(());
        }
        What::HostStack => {
            parts.stack = Some(block.into_stack()?);
            return Ok(());
        }
        What::PidPointerTable | What::EptPage | What::IoBitmapA | What::IoBitmapB => 4,
    };
    let wrong_owner = WrongBlock {
        what: "per-partition structure",
        bytes: 0,
        addr: block.addr(),
    };
    let page = parts.pages.get_mut(slot).ok_or(wrong_owner)?;
    *page = Some(block.into_page()?);
    Ok(())
}

/// `Err(None)`: a shape error; `Err(Some(e))`: a carve error.
fn put_partition(
    c: &mut Carved,
    partition: u16,
    what: What,
    block: tessera_arch::fixed_heap::Block,
    index: usize,
    item: HeapItem,
) -> Result<(), Option<CarveError>> {
    let wrong = |wrong| Some(CarveError::Wrong { index, item, wrong });
    match what {
        What::PidPointerTable if c.partitions.len() == partition as usize => {
            let pid_table = block.into_words().map_err(wrong)?;
            let memory = PartitionMemory {
                pid_table,
                io_bitmap_a: None,
                io_bitmap_b: None,
                ept_pages: heapless::Vec::new(),
            };
            c.partitions.push(memory).map_err(|_| None)
        }
        What::IoBitmapA | What::IoBitmapB if c.partitions.len() == partition as usize + 1 => {
            let page = block.into_page().map_err(wrong)?;
            let last = c.partitions.last_mut().ok_or(None)?;
            let slot = match what {
                What::IoBitmapA => &mut last.io_bitmap_a,
                _ => &mut last.io_bitmap_b,
            };
            *slot = Some(page);
            Ok(())
        }
        What::EptPage if c.partitions.len() == partition as usize + 1 => {
            let page = block.into_page().map_err(wrong)?;
            let last = c.partitions.last_mut().ok_or(None)?;
            last.ept_pages.push(page).map_err(|_| None)
        }
        _ => Err(None),
    }
}
