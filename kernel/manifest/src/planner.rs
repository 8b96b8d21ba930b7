//! Planning: a checked [`Model`] becomes a [`Plan`] (built in an arena, borrowing names and image
//! bytes from the model), with one PID-pointer table per partition and the heap size.

use crate::heap::{Build, HeapLayout};
use crate::heap_layout;
use crate::model::{DeviceModel, Model};
use crate::plan::{
    Device, HermitBoot, Image, Partition, PidTable, Plan, Route, RouteMode, Vcpu, VcpuRef,
};
use bumpalo::Bump;

/// Builds the plan of `model` in `arena`, with its heap laid out for the release build.
pub fn plan<'a>(arena: &'a Bump, model: &'a Model) -> Plan<'a> {
    plan_for(arena, model, Build::Release)
}

/// Builds the plan of `model` in `arena`, with its heap laid out for `build`.
pub fn plan_for<'a>(arena: &'a Bump, model: &'a Model, build: Build) -> Plan<'a> {
    let mut plan = layout(arena, model);
    plan.heap = heap_layout::layout(arena, &plan, build);
    plan
}

/// Builds the plan of `model` in `arena` without laying out the heap (`heap` is empty).
pub fn layout<'a>(arena: &'a Bump, model: &'a Model) -> Plan<'a> {
    let partitions: Vec<Partition<'a>> = (0..model.partitions.len())
        .map(|i| partition(arena, model, i))
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
        tsc_hz: model.tsc_hz,
        bus_lock_exit: model.bus_lock_exit,
        hypervisor: model.hypervisor,
        console: device(&model.console),
        partitions: arena.alloc_slice_copy(&partitions),
        channels: arena.alloc_slice_fill_iter(model.channels.iter().map(|c| c.as_plan())),
        heap: HeapLayout::EMPTY,
    }
}

fn partition<'a>(arena: &'a Bump, model: &'a Model, index: usize) -> Partition<'a> {
    let p = &model.partitions[index];
    let entries = pid_entries(model, index);
    Partition {
        name: &p.name,
        vcpus: arena.alloc_slice_fill_iter(p.vcpus.iter().enumerate().map(|(i, v)| Vcpu {
            board_cpu: &v.board_cpu,
            physical_apic_id: v.physical_apic_id,
            virtual_apic_id: p.apic_first + i as u32,
            starts_at_boot: v.starts_at_boot,
        })),
        memory: p.memory,
        image: p.image.as_ref().map(|i| Image {
            bytes: &i.bytes,
            entry: i.entry,
            segments: &i.segments,
            hermit: i.hermit.as_ref().map(|h| HermitBoot {
                load_bias: h.load_bias,
                relocations: h.relocations,
                stack_guest: h.stack_guest,
                boot_info_guest: h.boot_info_guest,
                boot_info: &h.boot_info,
                fdt_guest: h.fdt_guest,
                fdt: &h.fdt,
            }),
        }),
        console: p.console,
        console_weight: p.console_weight,
        timer: p.timer,
        devices: arena.alloc_slice_fill_iter(p.devices.iter().map(device)),
        routes: arena.alloc_slice_fill_iter(p.routes.iter().map(|r| Route {
            to: r.to as u16,
            to_name: &model.partitions[r.to].name,
            mode: r.mode,
            vectors: r.vectors,
        })),
        pid_table: PidTable {
            last_index: (entries.len() - 1) as u16,
            entries: arena.alloc_slice_copy(&entries),
        },
    }
}

fn device(d: &DeviceModel) -> Device<'_> {
    Device {
        name: &d.name,
        ports: &d.ports,
        mmio: &d.mmio,
        irqs: &d.irqs,
        dma: d.dma,
    }
}

/// Entries of partition `p`'s PID-pointer table: its own vCPUs and those of every partition it
/// has an exitless route to, at their virtual APIC IDs; empty elsewhere; no entry past the
/// highest of them.
pub fn pid_entries(model: &Model, p: usize) -> Vec<Option<VcpuRef>> {
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
            table[first + v] = Some(VcpuRef {
                partition: q as u16,
                vcpu: v as u16,
            });
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PartitionModel, RouteModel, VcpuModel};
    use crate::plan::{Console, HostRange, Ipiv, IpivMode, Memory};
    use crate::vectors::VectorSet;

    fn part(
        name: &str,
        vcpus: usize,
        apic_first: u32,
        routes: &[(usize, RouteMode)],
    ) -> PartitionModel {
        let vcpu = |i: usize| VcpuModel {
            board_cpu: format!("{name}{i}"),
            physical_apic_id: i as u32,
            starts_at_boot: i == 0,
        };
        PartitionModel {
            name: name.into(),
            vcpus: (0..vcpus).map(vcpu).collect(),
            apic_first,
            memory: Memory {
                guest_base: 0,
                host_base: 0,
                bytes: 2 << 20,
            },
            image_path: "x".into(),
            image: None,
            console: Console::Hypercall,
            console_weight: 1,
            timer: crate::plan::TimerMode::Preferred,
            devices: Vec::new(),
            routes: routes
                .iter()
                .map(|&(to, mode)| RouteModel {
                    to,
                    mode,
                    vectors: VectorSet::DELIVERABLE,
                })
                .collect(),
        }
    }

    fn model(partitions: Vec<PartitionModel>) -> Model {
        let ipiv = Ipiv {
            mode: IpivMode::Required,
            enabled: true,
        };
        let hypervisor = HostRange { base: 0, bytes: 0 };
        let console = DeviceModel {
            name: "com1".into(),
            ports: vec![crate::plan::PortRange {
                base: 0x3F8,
                count: 8,
            }],
            mmio: Vec::new(),
            irqs: vec![4],
            dma: false,
        };
        Model {
            board: "b".into(),
            board_cpus: Vec::new(),
            ipiv,
            tsc_hz: None,
            bus_lock_exit: false,
            hypervisor,
            console,
            partitions,
            channels: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn target(partition: u16, vcpu: u16) -> Option<VcpuRef> {
        Some(VcpuRef { partition, vcpu })
    }

    #[test]
    fn table_holds_own_and_exitless_targets_only() {
        let m = model(vec![
            part(
                "a",
                2,
                0,
                &[(1, RouteMode::Exitless), (2, RouteMode::Trapped)],
            ),
            part("b", 1, 4, &[]),
            part("c", 2, 6, &[]),
        ]);
        assert_eq!(
            pid_entries(&m, 0),
            vec![target(0, 0), target(0, 1), None, None, target(1, 0)]
        );
        assert_eq!(
            pid_entries(&m, 1),
            vec![None, None, None, None, target(1, 0)]
        );
        assert_eq!(pid_entries(&m, 2).len(), 8);
    }

    #[test]
    fn plan_numbers_vcpus_from_the_first_apic_id() {
        let m = model(vec![part("a", 3, 5, &[])]);
        let arena = Bump::new();
        let plan = layout(&arena, &m);
        let ids: Vec<u32> = plan.partitions[0]
            .vcpus
            .iter()
            .map(|v| v.virtual_apic_id)
            .collect();
        assert_eq!(ids, [5, 6, 7]);
        assert_eq!(plan.partitions[0].pid_table.last_index, 7);
        assert_eq!(plan.heap.region_bytes, 0);
    }
}
