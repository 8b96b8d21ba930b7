//! What guests and the hypervisor share: the hypercall ABI and the boot-info block. Guest crates
//! may depend on this crate for these definitions (it is `no_std` and has no unsafe code).

mod boot_channel;
mod boot_info;
mod boot_info_block;
mod boot_info_bytes;
mod hypercall;
pub mod page_walk;
pub mod uhyve;

pub use boot_channel::{
    BootChannel, ChannelRole, ACK_PAGE_BYTES, CHANNELS_MAX, CHANNEL_NAME_MAX_BYTES,
    CHANNEL_READERS_MAX,
};
pub use boot_info::{
    BootInfo, BootInfoError, BootPeer, BootTimer, PeerRoute, TimerPath, BOOT_INFO_BYTES,
    BOOT_INFO_MAGIC, BOOT_INFO_VERSION, NAME_MAX_BYTES, PEERS_MAX,
};
pub use boot_info_block::{BootIdentity, BootInfoBlock, BootInfoFill};
pub use hypercall::*;
