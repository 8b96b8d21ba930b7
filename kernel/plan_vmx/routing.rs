//! [`RoutingView`] over the manifest plan: a partition's own vCPUs and, through its routes, the
//! vCPUs of the partitions it may IPI (every vCPU of a route's target partition).

use tessera_manifest::{Partition, Plan, RouteMode};

use tessera_vmx::ipi::{Peer, RouteKind, RoutingView, VcpuRef};

/// The routing view of partition `partition` of `plan`.
#[derive(Clone, Copy, Debug)]
pub struct PlanView<'p, 'a> {
    plan: &'p Plan<'a>,
    partition: u16,
}

impl<'p, 'a> PlanView<'p, 'a> {
    /// The view of partition index `partition` (must be `< plan.partitions.len()`).
    pub fn new(plan: &'p Plan<'a>, partition: u16) -> Self {
        PlanView { plan, partition }
    }

    fn own(&self) -> &'p Partition<'a> {
        &self.plan.partitions[usize::from(self.partition)]
    }
}

impl RoutingView for PlanView<'_, '_> {
    fn partition(&self) -> u16 {
        self.partition
    }

    fn vcpu_count(&self) -> u16 {
        self.own().vcpus.len() as u16
    }

    fn virtual_apic_id(&self, vcpu: u16) -> u32 {
        self.own().vcpus[usize::from(vcpu)].virtual_apic_id
    }

    /// One pass over the partition's vCPUs (the default looks each one up by index); the same
    /// first match.
    #[inline]
    fn own_vcpu(&self, apic_id: u32) -> Option<u16> {
        let vcpus = self.own().vcpus;
        let position = vcpus.iter().position(|v| v.virtual_apic_id == apic_id);
        position.map(|vcpu| vcpu as u16)
    }

    fn peer(&self, apic_id: u32) -> Option<Peer> {
        self.own().routes.iter().find_map(|route| {
            let target = &self.plan.partitions[usize::from(route.to)];
            let vcpu = target
                .vcpus
                .iter()
                .position(|v| v.virtual_apic_id == apic_id)?;
            let kind = match route.mode {
                RouteMode::Exitless => RouteKind::Exitless,
                RouteMode::Trapped => RouteKind::Trapped(route.vectors),
            };
            Some(Peer {
                target: VcpuRef {
                    partition: route.to,
                    vcpu: vcpu as u16,
                },
                route: kind,
            })
        })
    }
}
