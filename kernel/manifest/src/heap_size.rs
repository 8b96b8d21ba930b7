//! Sizing the fixed heap: replay the allocation sequence on `linked_list_allocator` over a
//! 4096-aligned region (as the kernel's heap is) and find the smallest size that satisfies it.
//!
//! The allocator needs `'static` memory, so each trial region is leaked; results are memoised per
//! sequence, which keeps the leak to a few regions per distinct plan.

use linked_list_allocator::Heap;
use std::alloc::Layout;
use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// The allocator works in multiples of this many bytes (its size granularity).
pub const GRANULE_BYTES: usize = core::mem::align_of::<usize>();

/// Alignment of the kernel's heap region (and of the host trial regions).
pub const REGION_ALIGN: usize = 4096;

/// Minimal sizes already found, by sequence.
type Memo = HashMap<Vec<(usize, usize)>, usize>;

static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// Replays `(bytes, align)` allocations on a fresh heap of `heap_bytes` bytes; on failure, the
/// index of the first allocation that did not fit. Returns each allocation's offset otherwise.
pub fn replay(heap_bytes: usize, items: &[(usize, usize)]) -> Result<Vec<usize>, usize> {
    let region = leak_region(heap_bytes);
    let base = region.as_ptr() as usize;
    let mut heap = Heap::from_slice(region);
    let mut offsets = Vec::with_capacity(items.len());
    for (i, &(bytes, align)) in items.iter().enumerate() {
        let layout = Layout::from_size_align(bytes.max(1), align).map_err(|_| i)?;
        let ptr = heap.allocate_first_fit(layout).map_err(|_| i)?;
        offsets.push(ptr.as_ptr() as usize - base);
    }
    Ok(offsets)
}

/// The smallest heap size (a multiple of [`GRANULE_BYTES`]) on which `replay` succeeds.
pub fn minimal_bytes(items: &[(usize, usize)]) -> usize {
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&bytes) = memo.get_or_insert_with(HashMap::new).get(items) {
        return bytes;
    }
    let bound: usize = items.iter().map(|&(b, a)| b.max(1) + a).sum::<usize>() + 64;
    let offsets =
        replay(bound, items).unwrap_or_else(|i| unreachable!("item {i} failed on the upper bound"));
    let high_water = items
        .iter()
        .zip(&offsets)
        .map(|(&(b, _), &o)| o + b.max(16))
        .max()
        .unwrap_or(0);
    let mut bytes = high_water.next_multiple_of(GRANULE_BYTES).max(32);
    while replay(bytes, items).is_err() {
        bytes += GRANULE_BYTES;
    }
    memo.get_or_insert_with(HashMap::new)
        .insert(items.to_vec(), bytes);
    bytes
}

/// A leaked, 4096-aligned region of exactly `bytes` bytes.
fn leak_region(bytes: usize) -> &'static mut [MaybeUninit<u8>] {
    let raw: &'static mut [MaybeUninit<u8>] =
        Vec::leak(vec![MaybeUninit::new(0); bytes + REGION_ALIGN]);
    let skip = raw.as_ptr().align_offset(REGION_ALIGN);
    &mut raw[skip..skip + bytes]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_page_needs_one_page() {
        assert_eq!(minimal_bytes(&[(4096, 4096)]), 4096);
    }

    #[test]
    fn small_then_aligned_pays_padding() {
        let items = [(64, 64), (4096, 4096)];
        let bytes = minimal_bytes(&items);
        assert_eq!(bytes, 8192);
        assert!(replay(bytes - GRANULE_BYTES, &items).is_err());
    }

    #[test]
    fn padding_hole_is_reused() {
        // The 64-byte item after a page lands in the hole before the second page.
        let items = [(4096, 4096), (100, 16), (4096, 4096), (64, 64)];
        let bytes = minimal_bytes(&items);
        assert!(replay(bytes, &items).is_ok());
        assert!(replay(bytes - GRANULE_BYTES, &items).is_err());
        assert_eq!(bytes, 3 * 4096);
    }
}
