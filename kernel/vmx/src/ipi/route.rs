//! What the IPI route decision needs to know about the sender's partition: its own vCPUs and the
//! vCPUs of other partitions its routes reach. The kernel implements [`RoutingView`] over the plan.

use super::vectors::VectorSet;

/// A vCPU anywhere on the machine: partition index and vCPU index within it (plan order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuRef {
    pub partition: u16,
    pub vcpu: u16,
}

/// How a route to another partition is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// Through the PID-pointer table (IPIv); on the fallback path any vector >= 16 is posted.
    Exitless,
    /// Always through the hypervisor, which lets only these vectors through.
    Trapped(VectorSet),
}

/// A vCPU of another partition that the sender may address, and the route that allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub target: VcpuRef,
    pub route: RouteKind,
}

/// The sender partition's view of virtual APIC IDs.
pub trait RoutingView {
    /// Index of the sender's partition.
    fn partition(&self) -> u16;
    /// Number of vCPUs in the sender's partition.
    fn vcpu_count(&self) -> u16;
    /// Virtual APIC ID of the partition's vCPU `vcpu`.
    fn virtual_apic_id(&self, vcpu: u16) -> u32;
    /// A vCPU of another partition that `apic_id` names through one of this partition's routes.
    fn peer(&self, apic_id: u32) -> Option<Peer>;

    /// The partition's own vCPU with virtual APIC ID `apic_id`.
    fn own_vcpu(&self, apic_id: u32) -> Option<u16> {
        (0..self.vcpu_count()).find(|&vcpu| self.virtual_apic_id(vcpu) == apic_id)
    }
}
