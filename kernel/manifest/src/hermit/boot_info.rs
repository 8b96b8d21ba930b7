//! hermit-entry 0.10's `RawBootInfo` for x86-64 as bytes (`#[repr(C)]`, 128 bytes), with the
//! platform set to `Uhyve`, as uhyve writes it:
//!
//! | offset | field |
//! |---|---|
//! | 0, 8 | `phys_addr_start`, `phys_addr_end` (u64) |
//! | 16 | `serial_port_base` (`Option<NonZeroU16>`, 0 = none) |
//! | 24 | `device_tree` (`Option<NonZeroU64>`) |
//! | 32, 40 | `kernel_image_addr_start`, `_end` |
//! | 48..80 | `tls_info`: `start`, `filesz`, `memsz`, `align` (all 0: no TLS) |
//! | 80 | platform tag (u32): 1 = `Uhyve` on x86-64 |
//! | 88 | `has_pci` (bool) |
//! | 96 | `num_cpus` (`NonZeroU64`) |
//! | 104 | `cpu_freq` in kHz (`Option<NonZeroU32>`, 0 = unknown) |
//! | 112..128 | `boot_time`: nanoseconds since the Unix epoch (i128, native endian) |

/// Size of `RawBootInfo` on x86-64.
pub const RAW_BOOT_INFO_BYTES: usize = 128;
/// `RawPlatformInfo::Uhyve`'s tag on x86-64 (after `Multiboot`; `LinuxBoot` exists only on other
/// architectures).
pub const PLATFORM_UHYVE: u32 = 1;

/// The values Tessera fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootInfoValues {
    /// Guest-physical memory Hermit may treat as RAM.
    pub phys_start: u64,
    pub phys_end: u64,
    /// I/O port Hermit believes its UART is at (uhyve: its UART hypercall port).
    pub serial_port: u16,
    pub device_tree: u64,
    pub image_start: u64,
    pub image_end: u64,
    pub tls: Option<Tls>,
    pub cpus: u64,
    pub tsc_khz: Option<u32>,
    /// Wall-clock time at boot; Tessera has none to give and passes the epoch (0).
    pub boot_time_ns: i128,
}

/// The image's `PT_TLS` segment (start already relocated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    pub start: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// The 128 bytes of `RawBootInfo` for `v`.
pub fn raw_boot_info(v: &BootInfoValues) -> [u8; RAW_BOOT_INFO_BYTES] {
    let mut out = [0u8; RAW_BOOT_INFO_BYTES];
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &v.phys_start.to_le_bytes());
    put(8, &v.phys_end.to_le_bytes());
    put(16, &v.serial_port.to_le_bytes());
    put(24, &v.device_tree.to_le_bytes());
    put(32, &v.image_start.to_le_bytes());
    put(40, &v.image_end.to_le_bytes());
    if let Some(tls) = v.tls {
        for (i, word) in [tls.start, tls.filesz, tls.memsz, tls.align]
            .iter()
            .enumerate()
        {
            put(48 + 8 * i, &word.to_le_bytes());
        }
    }
    put(80, &PLATFORM_UHYVE.to_le_bytes());
    put(88, &[0]);
    put(96, &v.cpus.to_le_bytes());
    put(104, &v.tsc_khz.unwrap_or(0).to_le_bytes());
    put(112, &v.boot_time_ns.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BootInfoValues {
        BootInfoValues {
            phys_start: 0x200_0000,
            phys_end: 0x400_0000 - 0x6000,
            serial_port: 0x800,
            device_tree: 0x200_5000,
            image_start: 0x204_0000,
            image_end: 0x20f_0000,
            tls: Some(Tls {
                start: 0x20e_1410,
                filesz: 0x20,
                memsz: 0x80,
                align: 8,
            }),
            cpus: 4,
            tsc_khz: Some(50_000),
            boot_time_ns: 0,
        }
    }

    fn word(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn every_field_is_at_its_repr_c_offset() {
        let b = raw_boot_info(&values());
        assert_eq!((word(&b, 0), word(&b, 8)), (0x200_0000, 0x3ff_a000));
        assert_eq!(u16::from_le_bytes([b[16], b[17]]), 0x800);
        assert_eq!(word(&b, 24), 0x200_5000);
        assert_eq!((word(&b, 32), word(&b, 40)), (0x204_0000, 0x20f_0000));
        assert_eq!(
            [word(&b, 48), word(&b, 56), word(&b, 64), word(&b, 72)],
            [0x20e_1410, 0x20, 0x80, 8]
        );
        assert_eq!(
            u32::from_le_bytes(b[80..84].try_into().unwrap()),
            1,
            "hermit-entry 0.10's RawPlatformInfo::Uhyve tag on x86-64 (after Multiboot, 0)"
        );
        assert_eq!(b[88], 0, "no PCI");
        assert_eq!(word(&b, 96), 4);
        assert_eq!(u32::from_le_bytes(b[104..108].try_into().unwrap()), 50_000);
        assert!(b[112..].iter().all(|&x| x == 0), "boot time: the epoch");
    }

    #[test]
    fn absent_tls_and_frequency_are_zero() {
        let b = raw_boot_info(&BootInfoValues {
            tls: None,
            tsc_khz: None,
            ..values()
        });
        assert!(b[48..80].iter().all(|&x| x == 0));
        assert_eq!(&b[104..108], &[0; 4]);
    }
}
