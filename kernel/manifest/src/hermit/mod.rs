//! Hermit applications in partitions: the part of uhyve's boot ABI (hermit-entry entry version 4,
//! uhyve interface version 1) that Tessera implements, planned at build time.
//!
//! A partition image is a Hermit application when its `PT_NOTE` holds a `HERMIT` note of type
//! `0x5a00`. Its note must say entry version 4; it must be a static position-independent executable
//! (`ET_DYN`) whose relocations are all `R_X86_64_RELATIVE`. The build places it ([`layout`]),
//! writes its boot information ([`boot_info`]) and device tree (`fdt`), and checks every relocation;
//! the hypervisor copies, relocates ([`relocate`]) and starts it on every vCPU with RDI = boot
//! information, RSI = vCPU index and RSP = the lowest byte of the boot stack, as uhyve does.

pub mod boot_info;
pub mod layout;
pub mod relocate;

#[cfg(feature = "std")]
pub mod fdt;
#[cfg(feature = "std")]
pub mod image;

/// ELF note type of the entry-version note (name `HERMIT`, one byte of description).
pub const NT_HERMIT_ENTRY_VERSION: u32 = 0x5a00;
/// The entry version Tessera boots (hermit-entry 0.10).
pub const ENTRY_VERSION: u8 = 4;
/// Hermit kernel versions known to boot (see README.md, "Hermit applications").
pub const KNOWN_WORKING: &str = "hermit-kernel 0.11.0";

/// uhyve's hypercall I/O ports (uhyve-interface 0.1): an `out` of a 32-bit guest-physical address
/// of the call's parameters (for [`PORT_UART`], the byte itself).
pub const PORT_FILE_WRITE: u16 = 0x400;
pub const PORT_FILE_OPEN: u16 = 0x440;
pub const PORT_FILE_CLOSE: u16 = 0x480;
pub const PORT_FILE_READ: u16 = 0x500;
pub const PORT_EXIT: u16 = 0x540;
pub const PORT_FILE_LSEEK: u16 = 0x580;
pub const PORT_CMDSIZE: u16 = 0x740;
pub const PORT_CMDVAL: u16 = 0x780;
pub const PORT_UART: u16 = 0x800;
pub const PORT_FILE_UNLINK: u16 = 0x840;
pub const PORT_SERIAL_BUFFER: u16 = 0x880;
