//! Handing out physical RAM outside the image (partition memory, EPT tables, heaps) as `&'static mut`
//! slices, each byte at most once, only where the loader's memory map says "available".

#[cfg(target_os = "none")]
use crate::multiboot::{BootInfo, MEMORY_AVAILABLE};
use crate::paging::DEVICE_REGION_START;
use crate::sync::SpinLock;

/// Memory below this is never handed out (real-mode IVT/BDA, the AP trampoline, EBDA, ROMs).
pub const LOW_MEMORY_END: u64 = 0x10_0000;
/// How many claims can be outstanding.
pub const MAX_CLAIMS: usize = 64;

/// Why a claim was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    /// Zero bytes, or the range wraps around.
    Empty,
    /// Below `LOW_MEMORY_END`.
    LowMemory { base: u64 },
    /// Not inside one region the memory map reports as available.
    NotAvailableRam { base: u64, bytes: u64 },
    /// Not cached RAM in the boot page tables: inside the uncached device window 3-4 GiB
    /// (`paging::DEVICE_REGION_START`) or at or above the identity map's end
    /// (`paging::identity_map_end`: 512 GiB with 1 GiB pages, else the image's `boot_map_gib`).
    NotMapped { base: u64, bytes: u64 },
    /// Overlaps the image itself (code, data, stacks).
    OverlapsImage { image_start: u64, image_end: u64 },
    /// Overlaps the boot information block.
    OverlapsBootInfo,
    /// Overlaps an earlier claim.
    OverlapsClaim { base: u64, bytes: u64 },
    /// `MAX_CLAIMS` claims already made.
    TooManyClaims,
}

impl core::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            ClaimError::Empty => f.write_str("the range is empty or wraps around"),
            ClaimError::LowMemory { base } => {
                write!(f, "base {base:#x} lies below {LOW_MEMORY_END:#x} (low memory is never handed out)")
            }
            ClaimError::NotAvailableRam { base, bytes } => write!(
                f,
                "{bytes:#x} bytes at {base:#x} are not inside one region the memory map reports available"
            ),
            ClaimError::NotMapped { base, bytes } => write!(
                f,
                "{bytes:#x} bytes at {base:#x} are not cached RAM in the boot page tables (device window 3-4 GiB, or past the identity map)"
            ),
            ClaimError::OverlapsImage {
                image_start,
                image_end,
            } => write!(f, "overlaps the hypervisor image {image_start:#x}..{image_end:#x}"),
            ClaimError::OverlapsBootInfo => {
                f.write_str("overlaps the boot loader's information block")
            }
            ClaimError::OverlapsClaim { base, bytes } => write!(
                f,
                "overlaps the earlier claim of {bytes:#x} bytes at {base:#x}"
            ),
            ClaimError::TooManyClaims => write!(f, "{MAX_CLAIMS} claims made already"),
        }
    }
}

/// Half-open physical range [start, end).
type Range = (u64, u64);

fn overlaps(a: Range, b: Range) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// The pure decision: may `want` be claimed, given the identity map's end, available RAM, the
/// reserved ranges and earlier claims?
pub fn check_claim(
    mapped_end: u64,
    want: Range,
    available: impl IntoIterator<Item = Range>,
    image: Range,
    boot_info: Range,
    claimed: &[Range],
) -> Result<(), ClaimError> {
    let (base, end) = want;
    if end <= base {
        return Err(ClaimError::Empty);
    }
    if base < LOW_MEMORY_END {
        return Err(ClaimError::LowMemory { base });
    }
    if overlaps(want, (DEVICE_REGION_START, 4 << 30)) || end > mapped_end {
        return Err(ClaimError::NotMapped {
            base,
            bytes: end - base,
        });
    }
    if !available.into_iter().any(|(s, e)| s <= base && end <= e) {
        return Err(ClaimError::NotAvailableRam {
            base,
            bytes: end - base,
        });
    }
    if overlaps(want, image) {
        return Err(ClaimError::OverlapsImage {
            image_start: image.0,
            image_end: image.1,
        });
    }
    if overlaps(want, boot_info) {
        return Err(ClaimError::OverlapsBootInfo);
    }
    match claimed.iter().find(|c| overlaps(want, **c)) {
        Some(&(s, e)) => Err(ClaimError::OverlapsClaim {
            base: s,
            bytes: e - s,
        }),
        None => Ok(()),
    }
}

static CLAIMS: SpinLock<heapless::Vec<Range, MAX_CLAIMS>> = SpinLock::new(heapless::Vec::new());

/// Claims `bytes` of RAM at physical `base` for good; the contents are whatever RAM holds.
#[cfg(target_os = "none")]
pub fn claim_ram(boot: &BootInfo, base: u64, bytes: u64) -> Result<&'static mut [u8], ClaimError> {
    let want = (base, base.checked_add(bytes).ok_or(ClaimError::Empty)?);
    let available = boot
        .memory_map()
        .filter(|r| r.kind == MEMORY_AVAILABLE)
        .map(|r| (r.base, r.base + r.length_bytes));
    let (info_start, info_bytes) = boot.range();
    let mut claims = CLAIMS.lock();
    check_claim(
        crate::paging::identity_map_end(),
        want,
        available,
        image_range(),
        (info_start, info_start + info_bytes),
        &claims,
    )?;
    claims.push(want).map_err(|_| ClaimError::TooManyClaims)?;
    // SAFETY: the range is available RAM, identity mapped and cached by the boot page tables
    // (`check_claim` refuses the device window and anything past the map's end), outside the image
    // and the boot information, and no earlier claim overlaps it: this is the only reference to it, for good.
    Ok(unsafe { core::slice::from_raw_parts_mut(base as *mut u8, bytes as usize) })
}

/// The image's own physical range, from the linker script's `__image_start` / `__image_end`.
#[cfg(target_os = "none")]
fn image_range() -> Range {
    extern "C" {
        static __image_start: u8;
        static __image_end: u8;
    }
    // Only the symbols' addresses are taken, never their contents.
    (
        &raw const __image_start as u64,
        &raw const __image_end as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: [Range; 2] = [(0, 0x9_F000), (0x10_0000, 0x1000_0000)];
    const IMAGE: Range = (0x20_0000, 0x40_0000);
    const INFO: Range = (0x50_0000, 0x50_1000);

    const MAPPED_END: u64 = 512 << 30;

    fn check(want: Range, claimed: &[Range]) -> Result<(), ClaimError> {
        check_claim(MAPPED_END, want, RAM, IMAGE, INFO, claimed)
    }

    #[test]
    fn refuses_ram_the_boot_tables_do_not_map_cached() {
        let ram = [(0x10_0000, 0xC800_0000), (0x1_0000_0000, 0x90_0000_0000)];
        let claim = |want| check_claim(MAPPED_END, want, ram, IMAGE, INFO, &[]);
        let in_device_window = (0xBFE0_0000, 0xC020_0000);
        assert_eq!(
            claim(in_device_window),
            Err(ClaimError::NotMapped {
                base: 0xBFE0_0000,
                bytes: 0x40_0000
            })
        );
        let above_mapped = (MAPPED_END - 0x20_0000, MAPPED_END + 0x20_0000);
        assert!(matches!(
            claim(above_mapped),
            Err(ClaimError::NotMapped { .. })
        ));
        assert_eq!(claim((0xBFE0_0000, 0xC000_0000)), Ok(()));
        assert_eq!(claim((0x1_4000_0000, 0x1_C000_0000)), Ok(()));
        let without_1g_pages =
            check_claim(1 << 30, (0x4000_0000, 0x4020_0000), ram, IMAGE, INFO, &[]);
        assert!(matches!(
            without_1g_pages,
            Err(ClaimError::NotMapped { .. })
        ));
    }

    #[test]
    fn accepts_free_ram() {
        assert_eq!(check((0x100_0000, 0x200_0000), &[]), Ok(()));
    }

    #[test]
    fn refuses_each_reserved_kind() {
        assert_eq!(
            check((0x8000, 0x9000), &[]),
            Err(ClaimError::LowMemory { base: 0x8000 })
        );
        assert_eq!(
            check((0xFFF_0000, 0x1001_0000), &[]),
            Err(ClaimError::NotAvailableRam {
                base: 0xFFF_0000,
                bytes: 0x2_0000
            })
        );
        assert!(matches!(
            check((0x3F_F000, 0x41_0000), &[]),
            Err(ClaimError::OverlapsImage { .. })
        ));
        assert_eq!(
            check((0x50_0800, 0x60_0000), &[]),
            Err(ClaimError::OverlapsBootInfo)
        );
        assert_eq!(
            check((0x100_0000, 0x100_1000), &[(0x100_0800, 0x100_2000)]),
            Err(ClaimError::OverlapsClaim {
                base: 0x100_0800,
                bytes: 0x1800
            })
        );
        assert_eq!(check((0x100_0000, 0x100_0000), &[]), Err(ClaimError::Empty));
    }

    #[test]
    fn refusals_name_the_range_and_the_rule() {
        let text = check((0x100_0000, 0x100_1000), &[(0x100_0800, 0x100_2000)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            text,
            "overlaps the earlier claim of 0x1800 bytes at 0x1000800"
        );
        assert_eq!(
            ClaimError::LowMemory { base: 0x8000 }.to_string(),
            "base 0x8000 lies below 0x100000 (low memory is never handed out)"
        );
    }

    #[test]
    fn adjacent_claims_do_not_overlap() {
        assert_eq!(
            check((0x100_1000, 0x100_2000), &[(0x100_0000, 0x100_1000)]),
            Ok(())
        );
    }
}
