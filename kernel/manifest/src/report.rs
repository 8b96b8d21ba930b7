//! Reports of a plan for `cargo xtask explain`: a readable text and the JSON contract.

mod channels;
mod ipi_paths;
mod timer_paths;

use crate::heap::{self, HeapItem, Owner};
use crate::heap_items;
use crate::heap_layout;
use crate::model::Model;
use crate::plan::{Partition, Plan, RouteMode};
use crate::size::Bytes;
use serde_json::{json, Value};
use std::fmt::Write;

/// KVM's default PID-pointer table: 4096 vCPU IDs x 8 bytes, per VM.
pub const KVM_DEFAULT_TABLE_BYTES: usize = 32 * 1024;

/// Total bytes of every partition's PID-pointer table.
pub fn total_table_bytes(plan: &Plan<'_>) -> usize {
    plan.partitions.iter().map(|p| p.pid_table.bytes()).sum()
}

/// The plan as JSON (see the README's "Manifests" section for the fields); its heap is laid out
/// for `build`.
pub fn json(plan: &Plan<'_>, model: &Model, build: heap::Build) -> Value {
    let partitions: Vec<Value> = (0..plan.partitions.len())
        .map(|i| partition_json(plan, i))
        .collect();
    let mut items: Vec<HeapItem> = plan.heap_items().collect();
    items.sort_by_key(|i| i.offset);
    let items: Vec<Value> = items
        .into_iter()
        .map(|i| json!({"what": i.what.as_str(), "owner": owner(plan, i), "offset": i.offset, "bytes": i.bytes, "align": i.align}))
        .collect();
    let guards: Vec<usize> = plan.heap.vcpus.iter().map(|v| v.host_stack_guard).collect();
    json!({
        "board": plan.board,
        "ipiv": plan.ipiv.mode.as_str(),
        "ipiv_enabled": plan.ipiv.enabled,
        "bus_lock_exit": model.bus_lock_exit,
        "partitions": partitions,
        "pid_tables_bytes": total_table_bytes(plan),
        "kvm_default_pid_tables_bytes": KVM_DEFAULT_TABLE_BYTES * plan.partitions.len(),
        "ipi_paths": ipi_paths::json(plan),
        "channels": channels::json(plan),
        "timer_paths": timer_paths::json(plan),
        "heap": {"build": build.as_str(), "bytes": plan.heap.region_bytes, "padding_bytes": heap_layout::padding_bytes(plan), "host_stack_bytes": plan.heap.host_stack_bytes, "host_stack_guards": guards, "items": items},
        "notes": model.notes,
    })
}

fn partition_json(plan: &Plan<'_>, index: usize) -> Value {
    let p = &plan.partitions[index];
    let cpus: Vec<Value> = p
        .vcpus
        .iter()
        .map(|v| json!({"board_cpu": v.board_cpu, "physical_apic_id": v.physical_apic_id, "virtual_apic_id": v.virtual_apic_id, "starts_at_boot": v.starts_at_boot}))
        .collect();
    let routes: Vec<Value> = p
        .routes
        .iter()
        .map(|r| json!({"to": r.to_name, "mode": r.mode.as_str(), "vectors": r.vectors.iter().collect::<Vec<u8>>()}))
        .collect();
    let t = &p.pid_table;
    let valid: Vec<usize> = t
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_some())
        .map(|(i, _)| i)
        .collect();
    json!({
        "name": p.name,
        "cpus": cpus,
        "memory": {"guest_base": p.memory.guest_base, "host_base": p.memory.host_base, "bytes": p.memory.bytes},
        "devices": p.devices.iter().map(|d| d.name).collect::<Vec<_>>(),
        "dma_unconfined": p.devices.iter().filter(|d| d.dma).map(|d| d.name).collect::<Vec<_>>(),
        "pid_table": {"entries": t.entries.len(), "bytes": t.bytes(), "last_index": t.last_index, "valid": valid},
        "routes": routes,
        "timer": p.timer.as_str(),
        "ept_pages": heap_items::ept_pages(plan, index),
    })
}

fn owner(plan: &Plan<'_>, item: HeapItem) -> String {
    match item.owner {
        Owner::Vcpu { partition, vcpu } => {
            let p = &plan.partitions[usize::from(partition)];
            format!(
                "{} vCPU {vcpu} ({})",
                p.name,
                p.vcpus[usize::from(vcpu)].board_cpu
            )
        }
        Owner::Partition(p) => plan.partitions[usize::from(p)].name.to_string(),
        Owner::EveryPartition => "every partition (one MSR policy)".to_string(),
        Owner::TimerVirtualizingPartitions => {
            "every partition whose timer may be virtualized".to_string()
        }
    }
}

/// The readable report.
pub fn text(plan: &Plan<'_>, model: &Model, build: heap::Build) -> String {
    let mut out = String::new();
    let state = if plan.ipiv.enabled {
        "enabled"
    } else {
        "not used"
    };
    let _ = writeln!(
        out,
        "board `{}`, ipiv = \"{}\" ({state})",
        plan.board,
        plan.ipiv.mode.as_str()
    );
    let _ = writeln!(out, "{}", bus_lock_line(plan.board, model.bus_lock_exit));
    for p in plan.partitions {
        partition_text(&mut out, p);
    }
    let total = total_table_bytes(plan);
    let kvm = KVM_DEFAULT_TABLE_BYTES * plan.partitions.len();
    let _ = writeln!(out, "\nPID-pointer tables: {total} bytes in total; KVM's default would allocate {kvm} bytes ({} per VM x {})", Bytes(KVM_DEFAULT_TABLE_BYTES as u64), plan.partitions.len());
    ipi_paths::text(&mut out, plan);
    channels::text(&mut out, plan);
    timer_paths::text(&mut out, plan);
    heap_text(&mut out, plan, build);
    if !model.notes.is_empty() {
        let _ = writeln!(out, "\nplanner choices:");
        for note in &model.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    out
}

/// What happens when a guest takes a bus lock (a locked access split across cache lines or to
/// uncacheable memory), which stalls memory traffic on every core.
pub fn bus_lock_line(board: &str, bus_lock_exit: bool) -> String {
    if bus_lock_exit {
        "bus locks: contained: each one a guest takes exits (VMM bus-lock detection) and is counted per vCPU (`bus_lock` in its exit counts)".to_string()
    } else {
        format!("bus locks: NOT contained: board `{board}` states no bus-lock VM exit (`bus_lock_exit`), so a partition that takes bus locks (locked accesses split across cache lines or to uncacheable memory) slows every other partition's memory traffic and Tessera can neither see nor stop it")
    }
}

/// One line per passed-through device; a bus master is named for what it is: a way around the
/// partition's memory isolation.
fn devices_text(out: &mut String, p: &Partition<'_>) {
    for d in p.devices {
        let ports: Vec<String> = d
            .ports
            .iter()
            .map(|r| format!("{:#x}+{}", r.base, r.count))
            .collect();
        let mmio: Vec<String> = d
            .mmio
            .iter()
            .map(|r| format!("{:#x}+{}", r.base, Bytes(r.bytes)))
            .collect();
        let _ = writeln!(
            out,
            "  device `{}`: ports [{}], MMIO [{}], IRQs {:?}",
            d.name,
            ports.join(", "),
            mmio.join(", "),
            d.irqs
        );
        if d.dma {
            let _ = writeln!(out, "    DMA unconfined: `{}` can master the bus and no IOMMU is programmed, so `{}` can read and write ALL host memory through it (other partitions' and the hypervisor's included)", d.name, p.name);
        }
    }
}

fn partition_text(out: &mut String, p: &Partition<'_>) {
    let m = p.memory;
    let _ = writeln!(
        out,
        "\npartition `{}`: {} vCPU(s), {} at host {:#x} (guest {:#x})",
        p.name,
        p.vcpus.len(),
        Bytes(m.bytes),
        m.host_base,
        m.guest_base
    );
    for (i, v) in p.vcpus.iter().enumerate() {
        let start = if v.starts_at_boot {
            "starts at boot"
        } else {
            "waits for INIT/SIPI"
        };
        let _ = writeln!(
            out,
            "  vCPU {i}: {} (APIC ID {}) -> virtual APIC ID {}, {start}",
            v.board_cpu, v.physical_apic_id, v.virtual_apic_id
        );
    }
    devices_text(out, p);
    let t = &p.pid_table;
    let valid: Vec<String> = t
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_some())
        .map(|(i, _)| i.to_string())
        .collect();
    let _ = writeln!(
        out,
        "  PID-pointer table: {} entries (last index {}), {} bytes; valid at {}",
        t.entries.len(),
        t.last_index,
        t.bytes(),
        valid.join(", ")
    );
    for r in p.routes {
        let how = match r.mode {
            RouteMode::Exitless => format!("exitless: any vector >= 16 reaches `{}` with no exit and no check (a storm from `{}` lands on `{}`)", r.to_name, p.name, r.to_name),
            RouteMode::Trapped => format!("trapped: one exit per IPI, vectors {:?} allowed", r.vectors.iter().collect::<Vec<_>>()),
        };
        let _ = writeln!(out, "  route -> `{}`: {how}", r.to_name);
    }
    if p.routes.is_empty() {
        let _ = writeln!(
            out,
            "  no routes: nothing this partition writes to its ICR reaches another partition"
        );
    }
}

fn heap_text(out: &mut String, plan: &Plan<'_>, build: heap::Build) {
    let items: Vec<HeapItem> = plan.heap_items().collect();
    let _ = writeln!(
        out,
        "\nheap ({} build): {} in one region, {} structures at planned offsets:",
        build.as_str(),
        Bytes(plan.heap.region_bytes as u64),
        items.len()
    );
    for (what, count, bytes) in heap_kinds(&items) {
        let _ = writeln!(out, "  {count:>3} x {what:<28} {bytes:>8} bytes");
    }
    let other = match build {
        heap::Build::Release => heap::Build::Debug,
        heap::Build::Debug => heap::Build::Release,
    };
    let _ = writeln!(
        out,
        "  padding before page-aligned PID-pointer tables: {} bytes",
        heap_layout::padding_bytes(plan)
    );
    let _ = writeln!(
        out,
        "  each host stack ({} bytes: the {} build's measured {} plus {} of margin, in whole pages; {} builds get {}) sits right above its vCPU's VMXON region (its guard page)",
        plan.heap.host_stack_bytes,
        build.as_str(),
        build.measured_host_stack_bytes(),
        heap::HOST_STACK_MARGIN_BYTES,
        other.as_str(),
        other.host_stack_bytes()
    );
    let _ = writeln!(
        out,
        "  MSR bitmaps: shared by every partition (one MSR policy: x2APIC as the machine-wide IPIv mode says): one traps IA32_TSC_DEADLINE, {}; each vCPU's VMCS points at the passing one while its timer is virtualized; I/O bitmaps: one pair per partition granting ports ({} here), none for the others (every port access exits: unconditional I/O exiting)",
        match plan.heap.msr_bitmaps.deadline_passed {
            Some(_) => "one passes it (for the partitions whose timer may be virtualized)",
            None => "none passes it (every partition's timer is trapped)",
        },
        plan.heap
            .partitions
            .iter()
            .filter(|p| p.io_bitmaps.is_some())
            .count()
    );
}

/// The heap's structures by kind, in order of first appearance: (name, count, bytes).
pub fn heap_kinds(items: &[HeapItem]) -> Vec<(&'static str, usize, usize)> {
    let mut kinds: Vec<(&str, usize, usize)> = Vec::new();
    for i in items {
        match kinds.iter_mut().find(|k| k.0 == i.what.as_str()) {
            Some(k) => (k.1, k.2) = (k.1 + 1, k.2 + i.bytes),
            None => kinds.push((i.what.as_str(), 1, i.bytes)),
        }
    }
    kinds
}
