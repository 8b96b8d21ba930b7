//! Filling a vCPU's boot-info block from the manifest plan (hypervisor side).

use tessera_manifest::{Partition, Plan, RouteMode, VectorSet};

use super::boot_info::{BootInfo, BootInfoError, BootPeer, PeerRoute};

/// Fills `info` for vCPU `vcpu` of partition `partition`: identity, memory, name and every APIC ID it
/// may IPI (its own partition's vCPUs, then each route's target vCPUs with the vectors that arrive).
pub fn fill_boot_info(
    plan: &Plan<'_>,
    partition: u16,
    vcpu: u16,
    info: &mut BootInfo,
) -> Result<(), BootInfoError> {
    let own = &plan.partitions[usize::from(partition)];
    *info = BootInfo {
        vcpu_index: u32::from(vcpu),
        vcpu_count: own.vcpus.len() as u32,
        virtual_apic_id: own.vcpus[usize::from(vcpu)].virtual_apic_id,
        memory_guest_base: own.memory.guest_base,
        memory_bytes: own.memory.bytes,
        partition_index: u32::from(partition),
        ..BootInfo::EMPTY
    };
    info.set_name(own.name)?;
    push_partition(
        info,
        own,
        partition,
        PeerRoute::OwnPartition,
        VectorSet::DELIVERABLE,
    )?;
    for route in own.routes {
        let (kind, vectors) = match route.mode {
            RouteMode::Exitless => (PeerRoute::Exitless, VectorSet::DELIVERABLE),
            RouteMode::Trapped => (PeerRoute::Trapped, route.vectors),
        };
        push_partition(
            info,
            &plan.partitions[usize::from(route.to)],
            route.to,
            kind,
            vectors,
        )?;
    }
    Ok(())
}

fn push_partition(
    info: &mut BootInfo,
    target: &Partition<'_>,
    partition_index: u16,
    route: PeerRoute,
    vectors: VectorSet,
) -> Result<(), BootInfoError> {
    for (vcpu_index, vcpu) in target.vcpus.iter().enumerate() {
        info.push_peer(BootPeer {
            virtual_apic_id: vcpu.virtual_apic_id,
            partition_index,
            vcpu_index: vcpu_index as u16,
            route: route as u32,
            reserved: 0,
            vectors: vectors.0,
        })?;
    }
    Ok(())
}
