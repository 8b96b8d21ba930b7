//! The guest's initial GDT and TSS (SDM Vol. 3A 3.4.5, 7.2.3): a 64-bit code segment (selector
//! 0x08), a data segment (0x10) and a 64-bit TSS (0x18) so that IRETQ and a later LTR work.

/// Code segment selector.
pub const CODE_SELECTOR: u16 = 0x08;
/// Data and stack segment selector.
pub const DATA_SELECTOR: u16 = 0x10;
/// TSS selector.
pub const TSS_SELECTOR: u16 = 0x18;
/// GDT limit: null, code, data and the 16-byte TSS descriptor, minus one.
pub const GDT_LIMIT: u16 = 5 * 8 - 1;
/// Where the TSS starts in the GDT page.
pub const TSS_OFFSET_BYTES: u64 = 256;
/// TSS limit (104 bytes, no I/O permission bitmap).
pub const TSS_LIMIT: u32 = 0x67;

/// 64-bit code, DPL 0, present, readable, accessed (access byte 0x9B, flags L=1, G=1).
pub const CODE_DESCRIPTOR: u64 = 0x00AF_9B00_0000_FFFF;
/// Data, DPL 0, present, writable, accessed (access byte 0x93, flags D/B=1, G=1).
pub const DATA_DESCRIPTOR: u64 = 0x00CF_9300_0000_FFFF;

/// VMCS access rights of the segments as loaded (SDM Vol. 3C 25.4.1): code, data, busy TSS, unusable LDTR.
pub const CODE_ACCESS_RIGHTS: u32 = 0xA09B;
pub const DATA_ACCESS_RIGHTS: u32 = 0xC093;
pub const TSS_ACCESS_RIGHTS: u32 = 0x008B;
pub const UNUSABLE_ACCESS_RIGHTS: u32 = 0x1_0000;

/// The two 8-byte halves of an available 64-bit TSS descriptor for a TSS at `base`.
pub const fn tss_descriptor(base: u64) -> [u64; 2] {
    let low = (TSS_LIMIT as u64 & 0xFFFF)
        | (base & 0xFF_FFFF) << 16
        | 0x89 << 40
        | (base >> 24 & 0xFF) << 56;
    [low, base >> 32]
}

/// The GDT entries (null, code, data, TSS low, TSS high) for a TSS at `tss_base`.
pub const fn gdt_entries(tss_base: u64) -> [u64; 5] {
    let tss = tss_descriptor(tss_base);
    [0, CODE_DESCRIPTOR, DATA_DESCRIPTOR, tss[0], tss[1]]
}

/// The 104-byte TSS: everything zero except the I/O map base (= limit + 1: no I/O bitmap).
pub fn tss_bytes() -> [u8; 104] {
    let mut tss = [0u8; 104];
    tss[102..104].copy_from_slice(&104u16.to_le_bytes());
    tss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tss_descriptor_splits_the_base() {
        let [low, high] = tss_descriptor(0x0000_0001_2345_6000);
        assert_eq!(low & 0xFFFF, 0x67);
        assert_eq!(low >> 16 & 0xFF_FFFF, 0x45_6000);
        assert_eq!(low >> 40 & 0xFF, 0x89);
        assert_eq!(low >> 56, 0x23);
        assert_eq!(high, 1);
    }

    #[test]
    fn descriptors_match_the_vmcs_access_rights() {
        assert_eq!((CODE_DESCRIPTOR >> 40) as u32 & 0xF0FF, CODE_ACCESS_RIGHTS);
        assert_eq!((DATA_DESCRIPTOR >> 40) as u32 & 0xF0FF, DATA_ACCESS_RIGHTS);
        assert_eq!(gdt_entries(0x1000)[0], 0);
        assert_eq!(usize::from(GDT_LIMIT) + 1, 8 * gdt_entries(0).len());
        assert_eq!(&tss_bytes()[102..], &[104, 0]);
    }
}
