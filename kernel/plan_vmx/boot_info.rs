//! Filling a vCPU's boot-info block from the manifest plan (hypervisor side).

use tessera_manifest::channel::Role;
use tessera_manifest::{Channel, Partition, Plan, RouteMode, VectorSet};

use tessera_vmx::guest_abi::{
    BootChannel, BootIdentity, BootInfoError, BootInfoFill, BootPeer, ChannelRole, PeerRoute,
    CHANNEL_NAME_MAX_BYTES,
};

/// Fills `info` for vCPU `vcpu` of partition `partition`: identity, memory, name and every APIC ID it
/// may IPI (its own partition's vCPUs, then each route's target vCPUs with the vectors that arrive).
/// The hypervisor fills the block in place in guest memory (`BootInfoBlock`), host tests a `BootInfo`.
pub fn fill_boot_info(
    plan: &Plan<'_>,
    partition: u16,
    vcpu: u16,
    info: &mut impl BootInfoFill,
) -> Result<(), BootInfoError> {
    let own = &plan.partitions[usize::from(partition)];
    info.start(BootIdentity {
        vcpu_index: u32::from(vcpu),
        vcpu_count: own.vcpus.len() as u32,
        virtual_apic_id: own.vcpus[usize::from(vcpu)].virtual_apic_id,
        memory_guest_base: own.memory.guest_base,
        memory_bytes: own.memory.bytes,
        partition_index: u32::from(partition),
    });
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
    for (channel, role) in tessera_manifest::channel::of_partition(plan, partition) {
        info.push_channel(boot_channel(plan, channel, role))?;
    }
    Ok(())
}

/// Partition `p`'s vCPU 0: where doorbells and credits arrive.
fn first_apic_id(plan: &Plan<'_>, p: u16) -> u32 {
    plan.partitions[usize::from(p)]
        .vcpus
        .first()
        .map_or(0, |v| v.virtual_apic_id)
}

/// One channel as `role` sees it.
fn boot_channel(plan: &Plan<'_>, c: &Channel<'_>, role: Role) -> BootChannel {
    let (guest_base, _) = c.guest_span(role);
    let mut out = BootChannel {
        guest_base,
        ring_bytes: c.ring_bytes,
        ack_guest_base: guest_base + c.ring_bytes,
        reader_count: c.readers.len() as u8,
        trapped: u8::from(c.mode == RouteMode::Trapped),
        doorbell_vector: c.doorbell_vector,
        credit_vector: c.credit_vector,
        ..BootChannel::EMPTY
    };
    let name = c.name.as_bytes();
    let len = name.len().min(CHANNEL_NAME_MAX_BYTES);
    out.name[..len].copy_from_slice(&name[..len]);
    out.name_len = len as u8;
    match role {
        Role::Writer => {
            out.role = ChannelRole::Writer as u8;
            for (slot, r) in out.peer_apic_ids.iter_mut().zip(c.readers) {
                *slot = first_apic_id(plan, r.partition);
            }
        }
        Role::Reader(i) => {
            out.role = ChannelRole::Reader as u8;
            out.reader_index = i as u8;
            out.peer_apic_ids[0] = first_apic_id(plan, c.writer);
        }
    }
    out
}

fn push_partition(
    info: &mut impl BootInfoFill,
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
