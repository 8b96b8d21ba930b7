//! Where a Hermit partition's pieces lie in its guest memory (`B` = the memory's guest base),
//! following uhyve's layout: the device tree at `B + 0x5000` (at most 16 KiB), the boot
//! information at `B + 0x9000`, the image at `B + 0x40000` rounded up to its segments' alignment,
//! and the 32 KiB boot stack right below the image. Tessera's boot area (page tables, GDT) stays at
//! the top of the memory; the device tree's memory node ends where it begins, so Hermit never
//! hands it out.

/// Offsets from the memory's guest base.
pub const FDT_OFFSET: u64 = 0x5000;
pub const FDT_MAX_BYTES: u64 = 0x4000;
pub const BOOT_INFO_OFFSET: u64 = 0x9000;
pub const IMAGE_OFFSET: u64 = 0x4_0000;
/// The boot stack below the image (hermit-kernel's KERNEL_STACK_SIZE).
pub const STACK_BYTES: u64 = 0x8000;

/// Guest-physical addresses of one Hermit partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HermitLayout {
    pub fdt_guest: u64,
    pub boot_info_guest: u64,
    /// RSP at entry (the stack's lowest byte).
    pub stack_guest: u64,
    /// Added to every address of the ELF file.
    pub load_bias: u64,
    /// The image's memory: `load_bias + first p_vaddr .. load_bias + end of the last segment`.
    pub image_start: u64,
    pub image_end: u64,
    /// End of the memory Hermit may use (Tessera's boot area starts here).
    pub usable_end: u64,
}

/// The image's extent in its own addresses: lowest `p_vaddr`, end of the highest segment, and the
/// largest segment alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageExtent {
    pub first_vaddr: u64,
    pub end_vaddr: u64,
    pub align: u64,
}

/// Why the image cannot be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The image would end past `usable_end` (at `image_end`, or overflow).
    TooBig {
        image_end: Option<u64>,
        usable_end: u64,
    },
    /// A segment alignment that is not a power of two (or is larger than 1 GiB).
    BadAlignment { align: u64 },
}

/// Places an image of `extent` in memory starting at `memory_base` whose usable part ends at
/// `usable_end` (the boot area's first byte).
pub fn layout(
    memory_base: u64,
    usable_end: u64,
    extent: ImageExtent,
) -> Result<HermitLayout, LayoutError> {
    let align = extent.align.max(4096);
    if !align.is_power_of_two() || align > 1 << 30 {
        return Err(LayoutError::BadAlignment { align });
    }
    let too_big = |image_end| LayoutError::TooBig {
        image_end,
        usable_end,
    };
    let wanted = memory_base
        .checked_add(IMAGE_OFFSET)
        .and_then(|a| a.checked_add(align - 1))
        .ok_or(too_big(None))?;
    let image_start = wanted & !(align - 1);
    let load_bias = image_start
        .checked_sub(extent.first_vaddr & !(align - 1))
        .ok_or(too_big(None))?;
    let image_end = extent
        .end_vaddr
        .checked_add(load_bias)
        .ok_or(too_big(None))?;
    if image_end > usable_end {
        return Err(too_big(Some(image_end)));
    }
    Ok(HermitLayout {
        fdt_guest: memory_base + FDT_OFFSET,
        boot_info_guest: memory_base + BOOT_INFO_OFFSET,
        stack_guest: image_start - STACK_BYTES,
        load_bias,
        image_start: load_bias + extent.first_vaddr,
        image_end,
        usable_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn extent(first: u64, end: u64, align: u64) -> ImageExtent {
        ImageExtent {
            first_vaddr: first,
            end_vaddr: end,
            align,
        }
    }

    #[test]
    fn a_page_aligned_image_goes_where_uhyve_puts_it() {
        let l = layout(32 * MIB, 64 * MIB - 0x6000, extent(0, 0xb0000, 0x1000)).unwrap();
        assert_eq!(l.fdt_guest, 32 * MIB + 0x5000);
        assert_eq!(l.boot_info_guest, 32 * MIB + 0x9000);
        assert_eq!(l.load_bias, 32 * MIB + 0x4_0000);
        assert_eq!(l.stack_guest, 32 * MIB + 0x3_8000);
        assert_eq!(
            (l.image_start, l.image_end),
            (l.load_bias, l.load_bias + 0xb0000)
        );
        assert!(l.fdt_guest + FDT_MAX_BYTES <= l.boot_info_guest);
        assert!(l.boot_info_guest + 4096 <= l.stack_guest);
    }

    #[test]
    fn a_larger_alignment_moves_the_image_up_and_the_stack_with_it() {
        let l = layout(0, 8 * MIB, extent(0, 0x1000, 2 * MIB)).unwrap();
        assert_eq!(l.load_bias, 2 * MIB);
        assert_eq!(l.stack_guest, 2 * MIB - STACK_BYTES);
    }

    #[test]
    fn an_image_past_the_usable_memory_is_refused() {
        assert_eq!(
            layout(0, MIB, extent(0, MIB, 0x1000)),
            Err(LayoutError::TooBig {
                image_end: Some(MIB + IMAGE_OFFSET),
                usable_end: MIB
            })
        );
        assert!(matches!(
            layout(0, MIB, extent(0, u64::MAX, 0x1000)),
            Err(LayoutError::TooBig {
                image_end: None,
                ..
            })
        ));
        assert_eq!(
            layout(0, MIB, extent(0, 16, 3 * 4096)),
            Err(LayoutError::BadAlignment { align: 3 * 4096 })
        );
    }
}
