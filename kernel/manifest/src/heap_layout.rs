//! Laying out the fixed heap: every structure of a plan at an offset in one region, sized exactly
//! (the region ends where the last item ends). The order is documented in [`crate::heap`]; the
//! only bytes no item uses are the rest of the page before each PID-pointer table after the first
//! (VT-x wants each table page-aligned), which [`padding_bytes`] reports.

use crate::heap::{Build, HeapLayout, MsrBitmapsHeap, PartitionHeap, VcpuHeap};
use crate::heap::{HeapItem, What, PAGE_BYTES, PID_BYTES};
use crate::heap_items::{ept_pages, grants_ports, may_virtualize_timer};
use crate::plan::Plan;
use bumpalo::Bump;

/// The layout of `plan`'s heap for `build` (which sizes the host stacks), built in `arena`.
pub fn layout<'a>(arena: &'a Bump, plan: &Plan<'_>, build: Build) -> HeapLayout<'a> {
    let host_stack_bytes = build.host_stack_bytes();
    let mut cursor = Cursor(0);
    let vcpu_count = plan.vcpus().count();
    let page = |cursor: &mut Cursor| cursor.take(PAGE_BYTES, PAGE_BYTES);
    // Each VMXON region with its host stack right above it.
    let guarded: Vec<(usize, usize)> = (0..vcpu_count)
        .map(|_| {
            let vmxon = page(&mut cursor);
            (vmxon, cursor.take(host_stack_bytes, PAGE_BYTES))
        })
        .collect();
    let pages: Vec<[usize; 2]> = (0..vcpu_count)
        .map(|_| [page(&mut cursor), page(&mut cursor)])
        .collect();
    // Every partition's MSR policy is the same (x2APIC as the machine-wide IPIv mode says), so
    // they all share one bitmap trapping IA32_TSC_DEADLINE, and one passing it if some timer may
    // be virtualized.
    let msr_bitmaps = MsrBitmapsHeap {
        deadline_trapped: page(&mut cursor),
        deadline_passed: plan
            .partitions
            .iter()
            .any(may_virtualize_timer)
            .then(|| page(&mut cursor)),
    };
    let mut partition_pages: Vec<(Option<usize>, usize, usize)> = Vec::new();
    for (p, part) in plan.partitions.iter().enumerate() {
        let io_bitmaps = grants_ports(part).then(|| cursor.take(2 * PAGE_BYTES, PAGE_BYTES));
        let count = ept_pages(plan, p) as usize;
        partition_pages.push((
            io_bitmaps,
            cursor.take(count * PAGE_BYTES, PAGE_BYTES),
            count,
        ));
    }
    let mut tables = Vec::with_capacity(plan.partitions.len());
    let mut pids = Vec::with_capacity(vcpu_count);
    for (p, part) in plan.partitions.iter().enumerate() {
        tables.push(cursor.take(part.pid_table.bytes(), PAGE_BYTES));
        if p == 0 {
            pids = (0..vcpu_count)
                .map(|_| cursor.take(PID_BYTES, PID_BYTES))
                .collect();
        }
    }
    let vcpus: Vec<VcpuHeap> = (0..vcpu_count)
        .map(|i| {
            let (vmxon, host_stack) = guarded[i];
            let [vmcs, virtual_apic] = pages[i];
            VcpuHeap {
                vmxon,
                vmcs,
                virtual_apic,
                pid: pids[i],
                host_stack,
                host_stack_guard: vmxon,
            }
        })
        .collect();
    let partitions: Vec<PartitionHeap> = partition_pages
        .iter()
        .zip(&tables)
        .map(
            |(&(io_bitmaps, ept, ept_pages), &pid_table)| PartitionHeap {
                pid_table,
                io_bitmaps,
                ept,
                ept_pages,
            },
        )
        .collect();
    HeapLayout {
        region_bytes: cursor.0,
        host_stack_bytes,
        vcpus: arena.alloc_slice_copy(&vcpus),
        partitions: arena.alloc_slice_copy(&partitions),
        msr_bitmaps,
    }
}

/// Bytes of the region no item covers (the rest of the page before each PID-pointer table after
/// the first, and a descriptor's 64-byte alignment after the first table).
pub fn padding_bytes(plan: &Plan<'_>) -> usize {
    let used: usize = plan.heap_items().map(|i| i.bytes).sum();
    plan.heap.region_bytes - used
}

/// Every way `plan`'s heap layout breaks a promise of this module, one line each (empty: none):
/// an item outside the region or off its alignment, two items sharing a byte, a gap that is not
/// the alignment of a PID-pointer table or descriptor, a region longer than its last item, a
/// host stack not right above a VMXON region or VMCS, counts that differ from the plan's.
pub fn violations(plan: &Plan<'_>) -> Vec<String> {
    let layout = &plan.heap;
    let mut out = Vec::new();
    if layout.vcpus.len() != plan.vcpus().count()
        || layout.partitions.len() != plan.partitions.len()
    {
        out.push("the layout has not one entry per vCPU and per partition".to_string());
        return out;
    }
    let mut items: Vec<HeapItem> = plan.heap_items().collect();
    items.sort_by_key(|i| (i.offset, i.bytes));
    let mut end = 0;
    for item in &items {
        let name = format!(
            "{} of {:?} at {:#x}",
            item.what.as_str(),
            item.owner,
            item.offset
        );
        if item.offset % item.align != 0 {
            out.push(format!("{name} is not aligned to {}", item.align));
        }
        if item.offset + item.bytes > layout.region_bytes {
            out.push(format!(
                "{name} ends past the {}-byte region",
                layout.region_bytes
            ));
        }
        if item.offset < end {
            out.push(format!(
                "{name} overlaps the item before it (which ends at {end:#x})"
            ));
        } else if item.offset > end {
            let forced = matches!(
                item.what,
                What::PidPointerTable | What::PostedInterruptDescriptor
            ) && item.offset - end < item.align;
            if !forced {
                out.push(format!("{} bytes unused before {name}", item.offset - end));
            }
        }
        end = end.max(item.offset + item.bytes);
    }
    if end != layout.region_bytes {
        out.push(format!(
            "the region has {} bytes, its last item ends at {end}",
            layout.region_bytes
        ));
    }
    let sensitive: Vec<usize> = layout
        .vcpus
        .iter()
        .flat_map(|v| [v.vmxon, v.vmcs])
        .collect();
    for (i, v) in layout.vcpus.iter().enumerate() {
        if v.host_stack_guard + PAGE_BYTES != v.host_stack
            || !sensitive.contains(&v.host_stack_guard)
        {
            out.push(format!(
                "host stack {i} at {:#x} is not right above a VMXON region or VMCS (guard {:#x})",
                v.host_stack, v.host_stack_guard
            ));
        }
    }
    let virtualizing = plan.partitions.iter().any(may_virtualize_timer);
    if layout.msr_bitmaps.deadline_passed.is_some() != virtualizing {
        out.push(format!(
            "the MSR bitmap passing IA32_TSC_DEADLINE is {} but {} partition's timer may be virtualized",
            match layout.msr_bitmaps.deadline_passed {
                Some(_) => "planned",
                None => "missing",
            },
            match virtualizing {
                true => "a",
                false => "no",
            }
        ));
    }
    if layout.msr_bitmaps.deadline_passed == Some(layout.msr_bitmaps.deadline_trapped) {
        out.push("the two MSR bitmaps are one page".to_string());
    }
    for (p, part) in layout.partitions.iter().enumerate() {
        if part.io_bitmaps.is_some() != grants_ports(&plan.partitions[p]) {
            out.push(format!(
                "partition {p} {} I/O bitmaps but grants {} port",
                match part.io_bitmaps {
                    Some(_) => "has",
                    None => "has no",
                },
                match grants_ports(&plan.partitions[p]) {
                    true => "a",
                    false => "no",
                }
            ));
        }
    }
    for (p, part) in layout.partitions.iter().enumerate() {
        if part.ept_pages as u64 != ept_pages(plan, p) {
            out.push(format!(
                "partition {p} has {} EPT pages, the plan needs {}",
                part.ept_pages,
                ept_pages(plan, p)
            ));
        }
    }
    out
}

/// A bump cursor over the region being laid out.
struct Cursor(usize);

impl Cursor {
    /// Places `bytes` at the next multiple of `align`; returns the offset.
    fn take(&mut self, bytes: usize, align: usize) -> usize {
        let at = self.0.next_multiple_of(align);
        self.0 = at + bytes;
        at
    }
}
