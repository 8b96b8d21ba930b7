//! Filling a vCPU's boot-info block in place, in its page of guest memory: [`BootInfoBlock`]
//! writes each field's bytes where [`BootInfo::write_to`] would, so no `BootInfo` (3.7 KiB) is
//! built on the hypervisor's stack or kept as a template in its image. [`BootInfoFill`] is what
//! both offer, so the plan's filling code writes either (the struct in host tests).

use core::mem::{offset_of, size_of};

use super::boot_channel::{BootChannel, CHANNELS_MAX};
use super::boot_info::{
    BootInfo, BootInfoError, BootPeer, BootTimer, TimerPath, BOOT_INFO_BYTES, BOOT_INFO_MAGIC,
    BOOT_INFO_VERSION, NAME_MAX_BYTES, PEERS_MAX,
};
use super::boot_info_bytes::write_peer;

/// Who the vCPU is: the block's fixed fields after its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootIdentity {
    pub vcpu_index: u32,
    pub vcpu_count: u32,
    pub virtual_apic_id: u32,
    pub memory_guest_base: u64,
    pub memory_bytes: u64,
    pub partition_index: u32,
}

/// Building a boot-info block: a fresh block for one vCPU, then its name, peers, channels, timer.
pub trait BootInfoFill {
    /// Resets the block to a valid one for `identity`: no name, peers or channels, trapped timer.
    fn start(&mut self, identity: BootIdentity);
    fn set_name(&mut self, name: &str) -> Result<(), BootInfoError>;
    fn set_timer(&mut self, timer: BootTimer);
    fn push_peer(&mut self, peer: BootPeer) -> Result<(), BootInfoError>;
    fn push_channel(&mut self, channel: BootChannel) -> Result<(), BootInfoError>;
}

impl BootInfoFill for BootInfo {
    fn start(&mut self, id: BootIdentity) {
        *self = BootInfo {
            vcpu_index: id.vcpu_index,
            vcpu_count: id.vcpu_count,
            virtual_apic_id: id.virtual_apic_id,
            memory_guest_base: id.memory_guest_base,
            memory_bytes: id.memory_bytes,
            partition_index: id.partition_index,
            ..BootInfo::EMPTY
        };
    }
    fn set_name(&mut self, name: &str) -> Result<(), BootInfoError> {
        BootInfo::set_name(self, name)
    }
    fn set_timer(&mut self, timer: BootTimer) {
        BootInfo::set_timer(self, timer)
    }
    fn push_peer(&mut self, peer: BootPeer) -> Result<(), BootInfoError> {
        BootInfo::push_peer(self, peer)
    }
    fn push_channel(&mut self, channel: BootChannel) -> Result<(), BootInfoError> {
        BootInfo::push_channel(self, channel)
    }
}

/// A boot-info block being written in place (little-endian, `#[repr(C)]` layout of [`BootInfo`]).
pub struct BootInfoBlock<'a> {
    out: &'a mut [u8; BOOT_INFO_BYTES],
}

impl<'a> BootInfoBlock<'a> {
    /// The block in `out`, which [`BootInfoFill::start`] fills before anything else is written.
    pub fn new(out: &'a mut [u8; BOOT_INFO_BYTES]) -> Self {
        BootInfoBlock { out }
    }

    fn put(&mut self, offset: usize, bytes: &[u8]) {
        self.out[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    fn get_u32(&self, offset: usize) -> u32 {
        let mut word = [0; 4];
        word.copy_from_slice(&self.out[offset..offset + 4]);
        u32::from_le_bytes(word)
    }
}

impl BootInfoFill for BootInfoBlock<'_> {
    fn start(&mut self, id: BootIdentity) {
        self.out.fill(0);
        self.put(offset_of!(BootInfo, magic), &BOOT_INFO_MAGIC.to_le_bytes());
        self.put(
            offset_of!(BootInfo, version),
            &BOOT_INFO_VERSION.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, size_bytes),
            &(BOOT_INFO_BYTES as u32).to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, vcpu_index),
            &id.vcpu_index.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, vcpu_count),
            &id.vcpu_count.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, virtual_apic_id),
            &id.virtual_apic_id.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, memory_guest_base),
            &id.memory_guest_base.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, memory_bytes),
            &id.memory_bytes.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, partition_index),
            &id.partition_index.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, timer_path),
            &(TimerPath::Trapped as u32).to_le_bytes(),
        );
    }

    fn set_name(&mut self, name: &str) -> Result<(), BootInfoError> {
        let bytes = name.as_bytes();
        if bytes.len() > NAME_MAX_BYTES {
            return Err(BootInfoError::NameTooLong { bytes: bytes.len() });
        }
        let at = offset_of!(BootInfo, name);
        self.out[at..at + NAME_MAX_BYTES].fill(0);
        self.put(at, bytes);
        self.put(
            offset_of!(BootInfo, name_len),
            &(bytes.len() as u32).to_le_bytes(),
        );
        Ok(())
    }

    fn set_timer(&mut self, timer: BootTimer) {
        self.put(
            offset_of!(BootInfo, tsc_hz),
            &timer.frequency.tsc_hz.to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, apic_timer_hz),
            &timer.frequency.apic_timer_hz().to_le_bytes(),
        );
        self.put(
            offset_of!(BootInfo, timer_path),
            &(timer.path as u32).to_le_bytes(),
        );
    }

    fn push_peer(&mut self, peer: BootPeer) -> Result<(), BootInfoError> {
        let index = self.get_u32(offset_of!(BootInfo, peer_count)) as usize;
        if index >= PEERS_MAX {
            return Err(BootInfoError::TooManyPeers { peers: index + 1 });
        }
        let at = offset_of!(BootInfo, peers) + index * size_of::<BootPeer>();
        write_peer(&peer, &mut self.out[at..at + size_of::<BootPeer>()]);
        self.put(
            offset_of!(BootInfo, peer_count),
            &(index as u32 + 1).to_le_bytes(),
        );
        Ok(())
    }

    fn push_channel(&mut self, channel: BootChannel) -> Result<(), BootInfoError> {
        let index = self.get_u32(offset_of!(BootInfo, channel_count)) as usize;
        if index >= CHANNELS_MAX {
            return Err(BootInfoError::TooManyChannels);
        }
        let at = offset_of!(BootInfo, channels) + index * size_of::<BootChannel>();
        channel.write_to(&mut self.out[at..at + size_of::<BootChannel>()]);
        self.put(
            offset_of!(BootInfo, channel_count),
            &(index as u32 + 1).to_le_bytes(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apic_timer::TimerFrequency;
    use std::boxed::Box;

    /// The same calls on the struct and on the block give the struct's serialized bytes.
    fn fill(
        info: &mut impl BootInfoFill,
        peers: usize,
        channels: usize,
    ) -> Result<(), BootInfoError> {
        info.start(BootIdentity {
            vcpu_index: 1,
            vcpu_count: 3,
            virtual_apic_id: 0x21,
            memory_guest_base: 1 << 30,
            memory_bytes: 64 << 20,
            partition_index: 2,
        });
        info.set_name("gamma")?;
        for i in 0..peers {
            info.push_peer(BootPeer {
                virtual_apic_id: i as u32,
                partition_index: 1,
                vcpu_index: i as u16,
                route: 2,
                reserved: 0,
                vectors: [i as u64, 0, 1 << 63, 5],
            })?;
        }
        for i in 0..channels {
            let mut c = BootChannel {
                guest_base: 0x4000_0000 + i as u64,
                doorbell_vector: 0x40 + i as u8,
                peer_apic_ids: [1, 2, 3, 4],
                ..BootChannel::EMPTY
            };
            c.name[..2].copy_from_slice(b"ch");
            c.name_len = 2;
            info.push_channel(c)?;
        }
        info.set_timer(BootTimer {
            frequency: TimerFrequency::from_tsc_hz(50_000_000),
            path: TimerPath::Virtualized,
        });
        Ok(())
    }

    #[test]
    fn the_block_in_place_has_the_structs_bytes() {
        for (peers, channels) in [(0, 0), (3, 1), (PEERS_MAX, CHANNELS_MAX)] {
            let mut info = Box::new(BootInfo::EMPTY);
            fill(&mut *info, peers, channels).unwrap();
            let mut expected = Box::new([0u8; BOOT_INFO_BYTES]);
            info.write_to(&mut expected);
            let mut out = Box::new([0xAAu8; BOOT_INFO_BYTES]);
            fill(&mut BootInfoBlock::new(&mut out), peers, channels).unwrap();
            assert_eq!(out[..], expected[..], "{peers} peers, {channels} channels");
        }
    }

    #[test]
    fn the_block_refuses_what_the_struct_refuses() {
        let mut out = Box::new([0u8; BOOT_INFO_BYTES]);
        let mut block = BootInfoBlock::new(&mut out);
        assert_eq!(
            fill(&mut block, PEERS_MAX + 1, 0),
            Err(BootInfoError::TooManyPeers {
                peers: PEERS_MAX + 1
            })
        );
        assert_eq!(
            fill(&mut block, 0, CHANNELS_MAX + 1),
            Err(BootInfoError::TooManyChannels)
        );
        assert_eq!(
            block.set_name(&"x".repeat(NAME_MAX_BYTES + 1)),
            Err(BootInfoError::NameTooLong {
                bytes: NAME_MAX_BYTES + 1
            })
        );
    }
}
