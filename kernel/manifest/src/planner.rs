//! Planning: a checked [`Model`] becomes a [`Plan`] (built in an arena, borrowing names and image
//! bytes from the model), with one PID-pointer table per partition and the heap size.

use crate::heap;
use crate::heap_size;
use crate::model::{Model, PartitionModel};
use crate::plan::{Device, Image, Partition, PidTable, PidTarget, Plan, Route, RouteMode, Vcpu};
use bumpalo::Bump;

/// Builds the plan of `model` in `arena`, with the heap sized by replay.
pub fn plan<'a>(arena: &'a Bump, model: &'a Model) -> Plan<'a> {
    let mut plan = layout(arena, model);
    let items: Vec<(usize, usize)> = heap::sequence(&plan).map(|i| (i.bytes, i.align)).collect();
    plan.heap_bytes = heap_size::minimal_bytes(&items);
    plan
}

/// Builds the plan of `model` in `arena` without sizing the heap (`heap_bytes` is 0).
pub fn layout<'a>(arena: &'a Bump, model: &'a Model) -> Plan<'a> {
    let partitions: Vec<Partition<'a>> = model
        .partitions
        .iter()
        .map(|p| partition(arena, model, p))
        .collect();
    let board_cpus: Vec<crate::plan::BoardCpu<'a>> = model
        .board_cpus
        .iter()
        .map(|(name, apic_id)| crate::plan::BoardCpu {
            name,
            apic_id: *apic_id,
        })
        .collect();
    Plan {
        board: &model.board,
        board_cpus: arena.alloc_slice_copy(&board_cpus),
        ipiv: model.ipiv,
        hypervisor: model.hypervisor,
        partitions: arena.alloc_slice_copy(&partitions),
        heap_bytes: 0,
    }
}

fn partition<'a>(arena: &'a Bump, model: &'a Model, p: &'a PartitionModel) -> Partition<'a> {
    let vcpus: Vec<Vcpu<'a>> = p
        .vcpus
        .iter()
        .zip(p.apic_first..)
        .map(|(v, virtual_apic_id)| Vcpu {
            board_cpu: &v.board_cpu,
            physical_apic_id: v.physical_apic_id,
            virtual_apic_id,
            starts_at_boot: v.starts_at_boot,
        })
        .collect();
    let devices: Vec<Device<'a>> = p
        .devices
        .iter()
        .map(|d| Device {
            name: &d.name,
            ports: &d.ports,
            mmio: &d.mmio,
            irqs: &d.irqs,
        })
        .collect();
    let routes: Vec<Route<'a>> = p
        .routes
        .iter()
        .map(|r| Route {
            to: r.to as u16,
            to_name: &model.partitions[r.to].name,
            mode: r.mode,
            vectors: r.vectors,
        })
        .collect();
    let entries = pid_entries(
        model,
        model
            .partitions
            .iter()
            .position(|q| std::ptr::eq(q, p))
            .unwrap_or(0),
    );
    Partition {
        name: &p.name,
        vcpus: arena.alloc_slice_copy(&vcpus),
        memory: p.memory,
        image: p.image.as_ref().map(|i| Image {
            bytes: &i.bytes,
            entry: i.entry,
            segments: &i.segments,
        }),
        console: p.console,
        devices: arena.alloc_slice_copy(&devices),
        routes: arena.alloc_slice_copy(&routes),
        pid_table: PidTable {
            last_index: (entries.len() - 1) as u16,
            entries: arena.alloc_slice_copy(&entries),
        },
    }
}

/// Entries of partition `p`'s PID-pointer table: its own vCPUs and those of every partition it
/// has an exitless route to, at their virtual APIC IDs; empty elsewhere; no entry past the
/// highest of them.
pub fn pid_entries(model: &Model, p: usize) -> Vec<Option<PidTarget>> {
    let part = &model.partitions[p];
    let exitless = part
        .routes
        .iter()
        .filter(|r| r.mode == RouteMode::Exitless)
        .map(|r| r.to);
    let reachable: Vec<usize> = std::iter::once(p).chain(exitless).collect();
    let entries = reachable
        .iter()
        .map(|&q| model.partitions[q].apic_range().1 as usize + 1)
        .max()
        .unwrap_or(1);
    let mut table = vec![None; entries];
    for &q in &reachable {
        let first = model.partitions[q].apic_first as usize;
        for v in 0..model.partitions[q].vcpus.len() {
            table[first + v] = Some(PidTarget {
                partition: q as u16,
                vcpu: v as u16,
            });
        }
    }
    table
}
