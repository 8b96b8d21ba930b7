//! Serializing a boot-info block to bytes in its `#[repr(C)]` layout, for the hypervisor to copy
//! into guest memory without unsafe code.

use core::mem::{offset_of, size_of};

use super::boot_channel::BootChannel;
use super::boot_info::{BootInfo, BootPeer, BOOT_INFO_BYTES};

impl BootInfo {
    /// Serializes the block in its `#[repr(C)]` layout (little-endian) into `out`.
    pub fn write_to(&self, out: &mut [u8; BOOT_INFO_BYTES]) {
        out.fill(0);
        let mut put =
            |offset: usize, bytes: &[u8]| out[offset..offset + bytes.len()].copy_from_slice(bytes);
        put(offset_of!(BootInfo, magic), &self.magic.to_le_bytes());
        put(offset_of!(BootInfo, version), &self.version.to_le_bytes());
        put(
            offset_of!(BootInfo, size_bytes),
            &self.size_bytes.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, vcpu_index),
            &self.vcpu_index.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, vcpu_count),
            &self.vcpu_count.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, virtual_apic_id),
            &self.virtual_apic_id.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, peer_count),
            &self.peer_count.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, memory_guest_base),
            &self.memory_guest_base.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, memory_bytes),
            &self.memory_bytes.to_le_bytes(),
        );
        put(offset_of!(BootInfo, name_len), &self.name_len.to_le_bytes());
        put(
            offset_of!(BootInfo, partition_index),
            &self.partition_index.to_le_bytes(),
        );
        put(offset_of!(BootInfo, name), &self.name);
        for (i, peer) in self.peers.iter().enumerate() {
            let base = offset_of!(BootInfo, peers) + i * size_of::<BootPeer>();
            write_peer(peer, &mut out[base..base + size_of::<BootPeer>()]);
        }
        let mut put =
            |offset: usize, bytes: &[u8]| out[offset..offset + bytes.len()].copy_from_slice(bytes);
        put(offset_of!(BootInfo, tsc_hz), &self.tsc_hz.to_le_bytes());
        put(
            offset_of!(BootInfo, apic_timer_hz),
            &self.apic_timer_hz.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, timer_path),
            &self.timer_path.to_le_bytes(),
        );
        put(
            offset_of!(BootInfo, channel_count),
            &self.channel_count.to_le_bytes(),
        );
        for (i, channel) in self.channels.iter().enumerate() {
            let base = offset_of!(BootInfo, channels) + i * size_of::<BootChannel>();
            channel.write_to(&mut out[base..base + size_of::<BootChannel>()]);
        }
    }
}

pub(super) fn write_peer(peer: &BootPeer, out: &mut [u8]) {
    let mut put =
        |offset: usize, bytes: &[u8]| out[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(
        offset_of!(BootPeer, virtual_apic_id),
        &peer.virtual_apic_id.to_le_bytes(),
    );
    put(
        offset_of!(BootPeer, partition_index),
        &peer.partition_index.to_le_bytes(),
    );
    put(
        offset_of!(BootPeer, vcpu_index),
        &peer.vcpu_index.to_le_bytes(),
    );
    put(offset_of!(BootPeer, route), &peer.route.to_le_bytes());
    for (i, word) in peer.vectors.iter().enumerate() {
        put(offset_of!(BootPeer, vectors) + 8 * i, &word.to_le_bytes());
    }
}
