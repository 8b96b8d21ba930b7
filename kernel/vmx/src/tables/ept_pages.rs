//! How many 4 KiB EPT paging-structure pages a partition needs ([`super::EptBuilder`] follows the
//! same rule, so the heap plan is exact; the manifest crate re-exports it as `tessera_manifest::ept`).
//!
//! The rule:
//! - A partition's EPT maps exactly its memory (`guest_base..+bytes`) and each device MMIO range
//!   (identity-mapped: guest-physical = host-physical), and each range of its channels. Ranges are 4 KiB aligned and disjoint.
//! - 4-level EPT. Every 2 MiB-aligned 2 MiB region a range covers completely is mapped with one
//!   2 MiB page (a PD entry); every other part of a range is mapped with 4 KiB pages. Channel
//!   ranges are mapped with 4 KiB pages only.
//! - Pages: 1 PML4, plus one PDPT per 512 GiB region touched, plus one PD per 1 GiB region touched,
//!   plus one page table per 2 MiB region that holds at least one 4 KiB mapping.
//! - The kernel allocates these pages from the heap as it needs them, each 4096 bytes, 4096-aligned.

/// A guest-physical range to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestRange {
    pub base: u64,
    pub bytes: u64,
}

impl GuestRange {
    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.base + self.bytes
    }
}

const SHIFT_2M: u32 = 21;
const SHIFT_1G: u32 = 30;
const SHIFT_512G: u32 = 39;

/// Number of EPT paging-structure pages needed to map `ranges` (see the module rule).
/// Empty ranges are ignored; with no mapping at all only the PML4 is needed.
pub fn table_pages<I>(ranges: I) -> u64
where
    I: Iterator<Item = GuestRange> + Clone,
{
    table_pages_mixed(ranges, core::iter::empty())
}

/// As [`table_pages`], plus `small` ranges mapped with 4 KiB pages only (channels, whose host
/// and guest addresses need not agree modulo 2 MiB): one page table per 2 MiB region they touch.
pub fn table_pages_mixed<I, J>(ranges: I, small: J) -> u64
where
    I: Iterator<Item = GuestRange> + Clone,
    J: Iterator<Item = GuestRange> + Clone,
{
    let nonempty = ranges.filter(|r| r.bytes > 0);
    let small = small.filter(|r| r.bytes > 0);
    let all = nonempty.clone().chain(small.clone());
    let pdpts = distinct(all.clone().map(|r| touched(r, SHIFT_512G)));
    let pds = distinct(all.map(|r| touched(r, SHIFT_1G)));
    let regions = nonempty
        .flat_map(small_page_regions)
        .chain(small.map(|r| touched(r, SHIFT_2M)));
    1 + pdpts + pds + distinct(regions)
}

/// The inclusive interval of `1 << shift`-byte regions that `r` touches.
pub(crate) fn touched(r: GuestRange, shift: u32) -> (u64, u64) {
    (r.base >> shift, (r.base + r.bytes - 1) >> shift)
}

/// The 2 MiB regions (at most the first and the last) that `r` maps with 4 KiB pages.
fn small_page_regions(r: GuestRange) -> impl Iterator<Item = (u64, u64)> + Clone {
    let (first, last) = touched(r, SHIFT_2M);
    let covered = |k: u64| (k << SHIFT_2M) >= r.base && ((k + 1) << SHIFT_2M) <= r.base + r.bytes;
    let head = (!covered(first)).then_some((first, first));
    let tail = (last != first && !covered(last)).then_some((last, last));
    head.into_iter().chain(tail)
}

/// Number of distinct integers in a union of inclusive intervals (each interval is small).
pub(crate) fn distinct<I>(intervals: I) -> u64
where
    I: Iterator<Item = (u64, u64)> + Clone,
{
    let mut count = 0;
    for (i, (lo, hi)) in intervals.clone().enumerate() {
        for k in lo..=hi {
            let seen = intervals.clone().take(i).any(|(a, b)| a <= k && k <= b);
            count += u64::from(!seen);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn pages(ranges: &[(u64, u64)]) -> u64 {
        table_pages(
            ranges
                .iter()
                .map(|&(base, bytes)| GuestRange { base, bytes }),
        )
    }

    #[test]
    fn aligned_memory_needs_pml4_pdpt_pd() {
        assert_eq!(pages(&[(0, 64 * MIB)]), 3);
    }

    #[test]
    fn memory_across_a_gigabyte_needs_two_pds() {
        assert_eq!(pages(&[(GIB - 2 * MIB, 4 * MIB)]), 4);
    }

    #[test]
    fn one_small_mmio_page_adds_a_pd_and_a_pt() {
        // Memory at 0..64 MiB, an MMIO page at 0xFEC0_0000 (3rd GiB): PD + PT more.
        assert_eq!(pages(&[(0, 64 * MIB), (0xFEC0_0000, 4096)]), 5);
    }

    #[test]
    fn two_pages_in_one_2m_region_share_a_pt() {
        assert_eq!(pages(&[(0xFEC0_0000, 4096), (0xFEC0_1000, 4096)]), 4);
    }

    #[test]
    fn unaligned_range_has_head_and_tail_tables() {
        // 1 MiB .. 5 MiB: head 1..2 MiB (PT), 2..4 MiB one 2 MiB page, tail 4..5 MiB (PT).
        assert_eq!(pages(&[(MIB, 4 * MIB)]), 1 + 1 + 1 + 2);
    }

    #[test]
    fn range_inside_one_2m_region_needs_one_pt() {
        assert_eq!(pages(&[(MIB, 4096)]), 4);
    }

    #[test]
    fn far_ranges_need_their_own_pdpt() {
        assert_eq!(pages(&[(0, 2 * MIB), (512 * GIB, 2 * MIB)]), 1 + 2 + 2);
    }

    #[test]
    fn small_only_ranges_take_a_table_per_2m_region() {
        let ring = [GuestRange {
            base: 32 * MIB,
            bytes: 4 * MIB + 4096,
        }];
        let memory = [GuestRange {
            base: 0,
            bytes: 32 * MIB,
        }];
        assert_eq!(
            table_pages_mixed(memory.into_iter(), ring.into_iter()),
            1 + 1 + 1 + 3
        );
        assert_eq!(table_pages(memory.into_iter().chain(ring)), 1 + 1 + 1 + 1);
    }

    #[test]
    fn nothing_mapped_is_just_the_pml4() {
        assert_eq!(pages(&[]), 1);
        assert_eq!(pages(&[(0, 0)]), 1);
    }
}
