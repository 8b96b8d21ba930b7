//! Channels: shared memory between partitions, one writer and one or more readers, with a
//! doorbell IPI each way over a route the planner derives.
//!
//! The rule (the planner, the kernel's EPT builder and the boot-info filler all follow it):
//! - A channel's host memory is `ring_bytes` of ring, then one 4 KiB acknowledgement page per
//!   reader (reader `i`'s at `ring_bytes + i * 4096`), taken from board RAM and zeroed at boot.
//! - The writer maps the ring read-write and every acknowledgement page read-only, contiguously
//!   from `writer_guest_base`.
//! - Reader `i` maps the ring read-only at its `guest_base` and its own acknowledgement page
//!   read-write right after it (`guest_base + ring_bytes`); it does not map the other readers'.
//! - No other partition maps any of it. Nothing is executable.
//! - The writer raises `doorbell_vector` on vCPU 0 of each reader; readers raise `credit_vector`
//!   on the writer's vCPU 0, over routes of mode `mode` (exitless: any vector passes without an
//!   exit; trapped: one exit each, exactly these vectors pass).

use crate::plan::Plan;
pub use crate::plan::{Channel, ChannelReader};

// The bounds are the boot-info block's (tessera-vmx's guest ABI), which lists every channel of a
// partition and names every reader of each:
/// Bytes of one reader's acknowledgement page.
pub use tessera_vmx::guest_abi::ACK_PAGE_BYTES;
/// Most channels one partition takes part in.
pub use tessera_vmx::guest_abi::CHANNELS_MAX as PER_PARTITION_MAX;
/// Longest channel name, in bytes.
pub use tessera_vmx::guest_abi::CHANNEL_NAME_MAX_BYTES as NAME_MAX_BYTES;
/// Most readers of one channel.
pub use tessera_vmx::guest_abi::CHANNEL_READERS_MAX as READERS_MAX;

/// What one side of a channel may do with a mapped range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// One guest-physical range of a channel as a partition maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelMapping {
    pub guest_base: u64,
    pub host_base: u64,
    pub bytes: u64,
    pub access: Access,
}

/// A partition's part in a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Writer,
    /// Reader number `index` (its acknowledgement page's position).
    Reader(u16),
}

impl Channel<'_> {
    /// Ring plus every acknowledgement page.
    pub const fn host_bytes(&self) -> u64 {
        self.ring_bytes + ACK_PAGE_BYTES * self.readers.len() as u64
    }

    /// What partition `partition` is in this channel, if anything.
    pub fn role(&self, partition: u16) -> Option<Role> {
        if self.writer == partition {
            return Some(Role::Writer);
        }
        let index = self.readers.iter().position(|r| r.partition == partition)?;
        Some(Role::Reader(index as u16))
    }

    /// The guest-physical span `role` maps: base and bytes.
    pub fn guest_span(&self, role: Role) -> (u64, u64) {
        match role {
            Role::Writer => (self.writer_guest_base, self.host_bytes()),
            Role::Reader(i) => (
                self.readers[usize::from(i)].guest_base,
                self.ring_bytes + ACK_PAGE_BYTES,
            ),
        }
    }

    /// The ranges `role` maps, ring first.
    pub fn mappings(&self, role: Role) -> [Option<ChannelMapping>; 2] {
        let ack_host = self.host_base + self.ring_bytes;
        match role {
            Role::Writer => [
                Some(ChannelMapping {
                    guest_base: self.writer_guest_base,
                    host_base: self.host_base,
                    bytes: self.ring_bytes,
                    access: Access::ReadWrite,
                }),
                Some(ChannelMapping {
                    guest_base: self.writer_guest_base + self.ring_bytes,
                    host_base: ack_host,
                    bytes: ACK_PAGE_BYTES * self.readers.len() as u64,
                    access: Access::ReadOnly,
                }),
            ],
            Role::Reader(i) => {
                let base = self.readers[usize::from(i)].guest_base;
                [
                    Some(ChannelMapping {
                        guest_base: base,
                        host_base: self.host_base,
                        bytes: self.ring_bytes,
                        access: Access::ReadOnly,
                    }),
                    Some(ChannelMapping {
                        guest_base: base + self.ring_bytes,
                        host_base: ack_host + ACK_PAGE_BYTES * u64::from(i),
                        bytes: ACK_PAGE_BYTES,
                        access: Access::ReadWrite,
                    }),
                ]
            }
        }
    }
}

/// Every channel partition `partition` takes part in, with its role, in plan order.
pub fn of_partition<'p>(
    plan: &Plan<'p>,
    partition: u16,
) -> impl Iterator<Item = (&'p Channel<'p>, Role)> + Clone + 'p {
    let channels: &'p [Channel<'p>] = plan.channels;
    channels
        .iter()
        .filter_map(move |c| c.role(partition).map(|r| (c, r)))
}

/// Every range partition `partition` maps for its channels.
pub fn mappings<'p>(
    plan: &Plan<'p>,
    partition: u16,
) -> impl Iterator<Item = ChannelMapping> + Clone + 'p {
    of_partition(plan, partition).flat_map(|(c, role)| c.mappings(role).into_iter().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::RouteMode;

    const READERS: [ChannelReader; 2] = [
        ChannelReader {
            partition: 1,
            guest_base: 0x4000_0000,
        },
        ChannelReader {
            partition: 2,
            guest_base: 0x5000_0000,
        },
    ];

    fn channel() -> Channel<'static> {
        Channel {
            name: "c",
            writer: 0,
            writer_guest_base: 0x8000_0000,
            readers: &READERS,
            ring_bytes: 0x4000,
            host_base: 0x100_0000,
            mode: RouteMode::Exitless,
            doorbell_vector: 0x40,
            credit_vector: 0x41,
        }
    }

    #[test]
    fn writer_maps_ring_rw_and_every_ack_page_ro() {
        let c = channel();
        assert_eq!(c.host_bytes(), 0x6000);
        let [ring, acks] = c.mappings(Role::Writer);
        assert_eq!(
            ring,
            Some(ChannelMapping {
                guest_base: 0x8000_0000,
                host_base: 0x100_0000,
                bytes: 0x4000,
                access: Access::ReadWrite
            })
        );
        assert_eq!(
            acks,
            Some(ChannelMapping {
                guest_base: 0x8000_4000,
                host_base: 0x100_4000,
                bytes: 0x2000,
                access: Access::ReadOnly
            })
        );
    }

    #[test]
    fn reader_maps_ring_ro_and_only_its_own_ack_page_rw() {
        let c = channel();
        assert_eq!(c.role(2), Some(Role::Reader(1)));
        assert_eq!(c.role(3), None);
        let [ring, ack] = c.mappings(Role::Reader(1));
        assert_eq!(
            ring.map(|m| (m.guest_base, m.access)),
            Some((0x5000_0000, Access::ReadOnly))
        );
        assert_eq!(
            ack,
            Some(ChannelMapping {
                guest_base: 0x5000_4000,
                host_base: 0x100_5000,
                bytes: 0x1000,
                access: Access::ReadWrite
            })
        );
        assert_eq!(c.guest_span(Role::Reader(1)), (0x5000_0000, 0x5000));
    }
}
