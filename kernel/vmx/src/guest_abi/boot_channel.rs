//! The channels a vCPU's partition takes part in, as its boot-info block lists them (see
//! `tessera_manifest::channel` for the memory rule and the README's "Channels"). These bounds are
//! the ones the manifest checks enforce (`tessera_manifest::channel` re-exports them).

/// Most channels a boot-info block lists (so a partition takes part in).
pub const CHANNELS_MAX: usize = 8;
/// Most readers one channel names.
pub const CHANNEL_READERS_MAX: usize = 4;
/// Longest channel name carried, in bytes.
pub const CHANNEL_NAME_MAX_BYTES: usize = 16;
/// Bytes of one reader's acknowledgement page.
pub const ACK_PAGE_BYTES: u64 = 4096;

/// `BootChannel::role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ChannelRole {
    /// Maps the ring read-write and every acknowledgement page read-only.
    Writer = 0,
    /// Maps the ring read-only and its own acknowledgement page read-write.
    Reader = 1,
}

/// One channel, from this partition's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BootChannel {
    /// Guest-physical address of the ring on this side.
    pub guest_base: u64,
    pub ring_bytes: u64,
    /// Writer: reader 0's acknowledgement page (reader `i`'s is `i` pages on). Reader: its own.
    pub ack_guest_base: u64,
    pub name: [u8; CHANNEL_NAME_MAX_BYTES],
    pub name_len: u8,
    /// A [`ChannelRole`] value.
    pub role: u8,
    /// This partition's reader number (0 for the writer).
    pub reader_index: u8,
    pub reader_count: u8,
    /// 0: exitless doorbells, 1: trapped.
    pub trapped: u8,
    /// Raised by the writer on each reader.
    pub doorbell_vector: u8,
    /// Raised by each reader on the writer.
    pub credit_vector: u8,
    pub reserved: u8,
    /// Writer: each reader's vCPU 0 (the doorbell's target). Reader: the writer's vCPU 0 first.
    pub peer_apic_ids: [u32; CHANNEL_READERS_MAX],
}

impl BootChannel {
    pub const EMPTY: BootChannel = BootChannel {
        guest_base: 0,
        ring_bytes: 0,
        ack_guest_base: 0,
        name: [0; CHANNEL_NAME_MAX_BYTES],
        name_len: 0,
        role: 0,
        reader_index: 0,
        reader_count: 0,
        trapped: 0,
        doorbell_vector: 0,
        credit_vector: 0,
        reserved: 0,
        peer_apic_ids: [0; CHANNEL_READERS_MAX],
    };

    /// The channel's name ("?" if it is not UTF-8).
    pub fn name(&self) -> &str {
        let bytes = &self.name[..usize::from(self.name_len).min(CHANNEL_NAME_MAX_BYTES)];
        core::str::from_utf8(bytes).unwrap_or("?")
    }

    /// True on the writer's side.
    pub fn is_writer(&self) -> bool {
        self.role == ChannelRole::Writer as u8
    }

    /// Serializes the entry in its `#[repr(C)]` layout (little-endian) into `out` (64 bytes).
    pub fn write_to(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.guest_base.to_le_bytes());
        out[8..16].copy_from_slice(&self.ring_bytes.to_le_bytes());
        out[16..24].copy_from_slice(&self.ack_guest_base.to_le_bytes());
        out[24..40].copy_from_slice(&self.name);
        out[40..48].copy_from_slice(&[
            self.name_len,
            self.role,
            self.reader_index,
            self.reader_count,
            self.trapped,
            self.doorbell_vector,
            self.credit_vector,
            self.reserved,
        ]);
        for (i, id) in self.peer_apic_ids.iter().enumerate() {
            out[48 + 4 * i..52 + 4 * i].copy_from_slice(&id.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_is_fixed_and_serialized_as_declared() {
        assert_eq!(size_of::<BootChannel>(), 64);
        assert_eq!(offset_of!(BootChannel, name_len), 40);
        assert_eq!(offset_of!(BootChannel, peer_apic_ids), 48);
        let mut c = BootChannel {
            guest_base: 0x200_0000,
            doorbell_vector: 0x40,
            peer_apic_ids: [2, 3, 0, 0],
            ..BootChannel::EMPTY
        };
        c.name[..4].copy_from_slice(b"feed");
        c.name_len = 4;
        let mut out = [0xAAu8; 64];
        c.write_to(&mut out);
        assert_eq!(&out[0..8], &0x200_0000u64.to_le_bytes());
        assert_eq!(&out[24..28], b"feed");
        assert_eq!(out[45], 0x40);
        assert_eq!(&out[48..56], &[2, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(c.name(), "feed");
    }
}
