//! Guest-virtual to guest-physical translation through the guest's own 4-level page tables, for
//! hypercalls that pass virtual addresses (uhyve's `FileWrite`). Pure: the caller reads the table
//! entries (and refuses addresses outside the partition's memory).

const PRESENT: u64 = 1;
const LARGE: u64 = 1 << 7;
/// Physical-address bits 51:12 of an entry.
const ADDRESS: u64 = 0x000F_FFFF_FFFF_F000;

/// The guest-physical address of `virt` with `cr3`'s tables, reading each 8-byte entry with
/// `read_entry(guest_physical)`; `None` when a level is not present or an entry cannot be read.
/// 1 GiB and 2 MiB pages are followed.
pub fn translate(cr3: u64, virt: u64, read_entry: impl Fn(u64) -> Option<u64>) -> Option<u64> {
    let mut table = cr3 & ADDRESS;
    for level in (0..4u32).rev() {
        let shift = 12 + 9 * level;
        let index = (virt >> shift) & 0x1FF;
        let entry = read_entry(table + index * 8)?;
        if entry & PRESENT == 0 {
            return None;
        }
        if level == 0 || (level < 3 && entry & LARGE != 0) {
            let page_mask = (1u64 << shift) - 1;
            return Some((entry & ADDRESS & !page_mask) | (virt & page_mask));
        }
        table = entry & ADDRESS;
    }
    None
}

/// Bytes from `virt` to the end of its 4 KiB page (a chunk no translation splits).
pub const fn bytes_to_page_end(virt: u64) -> u64 {
    4096 - (virt & 0xFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Tables: PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000; a 2 MiB page and a 1 GiB page.
    fn tables() -> BTreeMap<u64, u64> {
        let mut m = BTreeMap::new();
        m.insert(0x1000 + 8 * 0x80, 0x2000 | 3); // PML4[128]: 0x4000_0000_0000
        m.insert(0x2000, 0x3000 | 3); // PDPT[0]
        m.insert(0x2008, 0x8000_0000 | 3 | LARGE); // PDPT[1]: 1 GiB page
        m.insert(0x3000, 0x4000 | 3); // PD[0] -> PT
        m.insert(0x3008, 0x60_0000 | 3 | LARGE); // PD[1]: 2 MiB page
        m.insert(0x4000 + 8 * 5, 0x7000 | 3); // PT[5]
        m
    }

    #[test]
    fn four_kib_two_mib_and_one_gib_pages() {
        let t = tables();
        let read = |a: u64| t.get(&a).copied().or(Some(0));
        let base = 0x4000_0000_0000u64;
        assert_eq!(translate(0x1000, base + 0x5123, read), Some(0x7123));
        assert_eq!(translate(0x1000, base + 0x20_0042, read), Some(0x60_0042));
        assert_eq!(
            translate(0x1000, base + 0x4000_0010, read),
            Some(0x8000_0010)
        );
    }

    #[test]
    fn absent_levels_and_unreadable_entries_fail() {
        let t = tables();
        let read = |a: u64| t.get(&a).copied().or(Some(0));
        assert_eq!(
            translate(0x1000, 0x4000_0000_6000, read),
            None,
            "PT[6] absent"
        );
        assert_eq!(translate(0x1000, 0x1234, read), None, "PML4[0] absent");
        assert_eq!(translate(0x1000, 0x4000_0000_5000, |_| None), None);
    }

    #[test]
    fn chunks_end_at_page_boundaries() {
        assert_eq!(bytes_to_page_end(0x1000), 4096);
        assert_eq!(bytes_to_page_end(0x1FFF), 1);
    }
}
