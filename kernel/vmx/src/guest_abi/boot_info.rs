//! The boot-info block a guest vCPU finds at entry (RDI = its guest-physical address; the guest
//! starts in 64-bit mode with paging as the hypervisor set up). Versioned and `#[repr(C)]` so a
//! guest crate can read it in place; the hypervisor writes it with [`BootInfo::write_to`].

use super::boot_channel::{BootChannel, CHANNELS_MAX};
use crate::apic_timer::TimerFrequency;

/// `magic`: "TESSBOOT" in little-endian bytes.
pub const BOOT_INFO_MAGIC: u64 = u64::from_le_bytes(*b"TESSBOOT");
/// Layout version; bumped whenever a field moves or changes meaning.
pub const BOOT_INFO_VERSION: u32 = 3;
/// Longest partition name carried, in bytes (UTF-8).
pub const NAME_MAX_BYTES: usize = 32;
/// Most entries in `peers`.
pub const PEERS_MAX: usize = 64;
/// Bytes of the whole block.
pub const BOOT_INFO_BYTES: usize = core::mem::size_of::<BootInfo>();

/// How the vCPU reaches a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PeerRoute {
    /// A vCPU of the same partition (including this one): any vector, IPIv when on.
    OwnPartition = 0,
    /// Another partition over an exitless route: any vector >= 16.
    Exitless = 1,
    /// Another partition over a trapped route: only `vectors` arrive.
    Trapped = 2,
}

/// How the vCPU's TSC-deadline timer is delivered (`BootInfo::timer_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TimerPath {
    /// Each IA32_TSC_DEADLINE write exits once; each expiry costs at most one exit (the
    /// VMX-preemption timer) and is posted like an IPI. One-shot and periodic modes always work so.
    Trapped = 0,
    /// APIC-timer virtualization: arming and expiry in TSC-deadline mode cost no exit.
    Virtualized = 1,
}

/// What a vCPU's boot-info block says about its timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootTimer {
    pub frequency: TimerFrequency,
    pub path: TimerPath,
}

/// One APIC ID the vCPU may send IPIs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BootPeer {
    pub virtual_apic_id: u32,
    pub partition_index: u16,
    pub vcpu_index: u16,
    /// A [`PeerRoute`] value.
    pub route: u32,
    pub reserved: u32,
    /// Vectors that arrive (bit `v` = vector `v`).
    pub vectors: [u64; 4],
}

impl BootPeer {
    pub const EMPTY: BootPeer = BootPeer {
        virtual_apic_id: 0,
        partition_index: 0,
        vcpu_index: 0,
        route: 0,
        reserved: 0,
        vectors: [0; 4],
    };
}

/// What a vCPU knows about itself at entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BootInfo {
    pub magic: u64,
    pub version: u32,
    /// `BOOT_INFO_BYTES` of the writer's version.
    pub size_bytes: u32,
    /// This vCPU's index in its partition (0 = the partition's bootstrap vCPU).
    pub vcpu_index: u32,
    /// vCPUs in the partition.
    pub vcpu_count: u32,
    /// The APIC ID the guest sees (also in its virtual-APIC page).
    pub virtual_apic_id: u32,
    /// Valid entries in `peers`.
    pub peer_count: u32,
    /// The partition's memory, guest-physical.
    pub memory_guest_base: u64,
    pub memory_bytes: u64,
    /// Valid bytes in `name`.
    pub name_len: u32,
    pub partition_index: u32,
    pub name: [u8; NAME_MAX_BYTES],
    /// Own vCPUs first (vCPU order), then routed vCPUs (route order, then vCPU order).
    pub peers: [BootPeer; PEERS_MAX],
    /// TSC frequency (also in CPUID leaves 15H and 16H).
    pub tsc_hz: u64,
    /// Local APIC timer frequency at divide 1 (the crystal clock of CPUID leaf 15H).
    pub apic_timer_hz: u64,
    /// A [`TimerPath`] value.
    pub timer_path: u32,
    pub reserved: u32,
    /// Valid entries in `channels`.
    pub channel_count: u32,
    pub reserved_channels: u32,
    /// The partition's channels, in manifest order.
    pub channels: [BootChannel; CHANNELS_MAX],
}

/// Why a boot-info block is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    BadMagic { found: u64 },
    UnsupportedVersion { found: u32 },
    BadCounts,
    NameTooLong { bytes: usize },
    TooManyPeers { peers: usize },
    TooManyChannels,
}

impl core::fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BootInfoError::BadMagic { found } => {
                write!(f, "magic {found:#x}, expected {BOOT_INFO_MAGIC:#x}")
            }
            BootInfoError::UnsupportedVersion { found } => {
                write!(f, "version {found}, expected {BOOT_INFO_VERSION}")
            }
            BootInfoError::BadCounts => f.write_str(
                "a count exceeds its array, or the vCPU index is not below the vCPU count",
            ),
            BootInfoError::NameTooLong { bytes } => {
                write!(f, "name of {bytes} bytes, at most {NAME_MAX_BYTES}")
            }
            BootInfoError::TooManyPeers { peers } => {
                write!(f, "{peers} peers, at most {PEERS_MAX}")
            }
            BootInfoError::TooManyChannels => {
                write!(f, "more than {CHANNELS_MAX} channels")
            }
        }
    }
}

impl BootInfo {
    /// An empty, valid block (no name, no peers).
    pub const EMPTY: BootInfo = BootInfo {
        magic: BOOT_INFO_MAGIC,
        version: BOOT_INFO_VERSION,
        size_bytes: BOOT_INFO_BYTES as u32,
        vcpu_index: 0,
        vcpu_count: 0,
        virtual_apic_id: 0,
        peer_count: 0,
        memory_guest_base: 0,
        memory_bytes: 0,
        name_len: 0,
        partition_index: 0,
        name: [0; NAME_MAX_BYTES],
        peers: [BootPeer::EMPTY; PEERS_MAX],
        tsc_hz: 0,
        apic_timer_hz: 0,
        timer_path: TimerPath::Trapped as u32,
        reserved: 0,
        channel_count: 0,
        reserved_channels: 0,
        channels: [BootChannel::EMPTY; CHANNELS_MAX],
    };

    /// Checks magic, version and counts (what a guest does first).
    pub fn check(&self) -> Result<(), BootInfoError> {
        if self.magic != BOOT_INFO_MAGIC {
            return Err(BootInfoError::BadMagic { found: self.magic });
        }
        if self.version != BOOT_INFO_VERSION {
            return Err(BootInfoError::UnsupportedVersion {
                found: self.version,
            });
        }
        let counts_ok = self.peer_count as usize <= PEERS_MAX
            && self.name_len as usize <= NAME_MAX_BYTES
            && self.channel_count as usize <= CHANNELS_MAX;
        if !counts_ok || self.vcpu_index >= self.vcpu_count {
            return Err(BootInfoError::BadCounts);
        }
        Ok(())
    }

    /// The partition name ("?" if it is not UTF-8).
    pub fn name(&self) -> &str {
        let bytes = &self.name[..(self.name_len as usize).min(NAME_MAX_BYTES)];
        core::str::from_utf8(bytes).unwrap_or("?")
    }

    /// Stores `name`, or fails if it is longer than [`NAME_MAX_BYTES`].
    pub fn set_name(&mut self, name: &str) -> Result<(), BootInfoError> {
        let bytes = name.as_bytes();
        if bytes.len() > NAME_MAX_BYTES {
            return Err(BootInfoError::NameTooLong { bytes: bytes.len() });
        }
        self.name = [0; NAME_MAX_BYTES];
        self.name[..bytes.len()].copy_from_slice(bytes);
        self.name_len = bytes.len() as u32;
        Ok(())
    }

    /// Records the timer's frequencies and path.
    pub fn set_timer(&mut self, timer: BootTimer) {
        self.tsc_hz = timer.frequency.tsc_hz;
        self.apic_timer_hz = timer.frequency.apic_timer_hz();
        self.timer_path = timer.path as u32;
    }

    /// The valid peers.
    pub fn peers(&self) -> &[BootPeer] {
        &self.peers[..(self.peer_count as usize).min(PEERS_MAX)]
    }

    /// The valid channels.
    pub fn channels(&self) -> &[BootChannel] {
        &self.channels[..(self.channel_count as usize).min(CHANNELS_MAX)]
    }

    /// Appends a channel, or fails when [`CHANNELS_MAX`] are already there.
    pub fn push_channel(&mut self, channel: BootChannel) -> Result<(), BootInfoError> {
        let index = self.channel_count as usize;
        let slot = self
            .channels
            .get_mut(index)
            .ok_or(BootInfoError::TooManyChannels)?;
        *slot = channel;
        self.channel_count += 1;
        Ok(())
    }

    /// Appends a peer, or fails when [`PEERS_MAX`] are already there.
    pub fn push_peer(&mut self, peer: BootPeer) -> Result<(), BootInfoError> {
        let index = self.peer_count as usize;
        let slot = self
            .peers
            .get_mut(index)
            .ok_or(BootInfoError::TooManyPeers { peers: index + 1 })?;
        *slot = peer;
        self.peer_count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;
    use std::boxed::Box;

    #[test]
    fn layout_is_fixed() {
        assert_eq!(core::mem::size_of::<BootPeer>(), 48);
        assert_eq!(offset_of!(BootInfo, memory_guest_base), 32);
        assert_eq!(offset_of!(BootInfo, name), 56);
        assert_eq!(offset_of!(BootInfo, peers), 88);
        assert_eq!(offset_of!(BootInfo, tsc_hz), 88 + 64 * 48);
        assert_eq!(offset_of!(BootInfo, timer_path), 88 + 64 * 48 + 16);
        assert_eq!(offset_of!(BootInfo, channel_count), 88 + 64 * 48 + 24);
        assert_eq!(offset_of!(BootInfo, channels), 88 + 64 * 48 + 32);
        assert_eq!(BOOT_INFO_BYTES, 88 + 64 * 48 + 32 + 8 * 64);
        assert_eq!(&BOOT_INFO_MAGIC.to_le_bytes(), b"TESSBOOT");
    }

    #[test]
    fn empty_block_checks_only_after_counts_are_set() {
        let mut info = BootInfo::EMPTY;
        assert_eq!(
            info.check(),
            Err(BootInfoError::BadCounts),
            "vcpu_index must be < vcpu_count"
        );
        info.vcpu_count = 1;
        assert_eq!(info.check(), Ok(()));
        info.magic = 0;
        assert_eq!(info.check(), Err(BootInfoError::BadMagic { found: 0 }));
    }

    #[test]
    fn names_and_peers_are_bounded() {
        let mut info = BootInfo::EMPTY;
        info.set_name("alpha").unwrap();
        assert_eq!(info.name(), "alpha");
        assert_eq!(
            info.set_name(&"x".repeat(33)),
            Err(BootInfoError::NameTooLong { bytes: 33 })
        );
        for i in 0..PEERS_MAX {
            info.push_peer(BootPeer {
                virtual_apic_id: i as u32,
                ..BootPeer::EMPTY
            })
            .unwrap();
        }
        assert_eq!(
            info.push_peer(BootPeer::EMPTY),
            Err(BootInfoError::TooManyPeers { peers: 65 })
        );
        assert_eq!(info.peers().len(), PEERS_MAX);
    }

    #[test]
    fn serialized_bytes_follow_the_repr_c_layout() {
        let mut info = BootInfo {
            vcpu_index: 1,
            vcpu_count: 2,
            virtual_apic_id: 0x13,
            ..BootInfo::EMPTY
        };
        info.memory_bytes = 32 << 20;
        info.set_name("beta").unwrap();
        let peer = BootPeer {
            virtual_apic_id: 7,
            partition_index: 2,
            vcpu_index: 1,
            route: 2,
            reserved: 0,
            vectors: [0, 1, 0, 0],
        };
        info.push_peer(peer).unwrap();
        info.tsc_hz = 50_000_000;
        info.timer_path = TimerPath::Virtualized as u32;
        let mut out = Box::new([0xAAu8; BOOT_INFO_BYTES]);
        info.write_to(&mut out);
        assert_eq!(&out[0..8], b"TESSBOOT");
        assert_eq!(u32::from_le_bytes(out[16..20].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(out[24..28].try_into().unwrap()), 0x13);
        assert_eq!(
            u64::from_le_bytes(out[40..48].try_into().unwrap()),
            32 << 20
        );
        assert_eq!(&out[56..60], b"beta");
        assert_eq!(&out[88..96], &[7, 0, 0, 0, 2, 0, 1, 0]);
        assert_eq!(
            u64::from_le_bytes(out[88 + 24..88 + 32].try_into().unwrap()),
            1
        );
        let timer = 88 + 64 * 48;
        assert!(out[88 + 48..timer].iter().all(|&b| b == 0));
        assert_eq!(&out[timer..timer + 8], &50_000_000u64.to_le_bytes());
        assert_eq!(&out[timer + 16..timer + 20], &[1, 0, 0, 0]);
    }
}
