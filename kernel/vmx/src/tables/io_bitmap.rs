//! I/O bitmaps A (ports 0x0000-0x7FFF) and B (0x8000-0xFFFF), 4 KiB each (SDM Vol. 3C 25.6.4): a set
//! bit makes an access to that port exit; an access exits if any byte it touches is set. Tessera
//! denies every port except the ranges the manifest grants.

use super::page::{clear_page_bit, page_bit, PageWords};

/// Bytes of each I/O bitmap.
pub const IO_BITMAP_BYTES: usize = 4096;
const PORTS_PER_BITMAP: u32 = 0x8000;

/// The range reaches past port 0xFFFF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRangeTooLong {
    pub base: u16,
    pub count: u32,
}

impl core::fmt::Display for PortRangeTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} ports from {:#x} reach past port 0xFFFF",
            self.count, self.base
        )
    }
}

/// Bitmaps A and B being filled in caller-provided pages.
pub struct IoBitmaps<A: PageWords, B: PageWords> {
    a: A,
    b: B,
}

impl<A: PageWords, B: PageWords> IoBitmaps<A, B> {
    /// Sets every bit: every IN/OUT exits until allowed.
    pub fn deny_all(mut a: A, mut b: B) -> Self {
        a.fill_words(u64::MAX);
        b.fill_words(u64::MAX);
        IoBitmaps { a, b }
    }

    /// Lets the guest access ports `base..base + count` without exiting.
    pub fn allow(&mut self, base: u16, count: u32) -> Result<(), PortRangeTooLong> {
        if u32::from(base) + count > 0x1_0000 {
            return Err(PortRangeTooLong { base, count });
        }
        for port in u32::from(base)..u32::from(base) + count {
            match port < PORTS_PER_BITMAP {
                true => clear_page_bit(&mut self.a, port as usize),
                false => clear_page_bit(&mut self.b, (port - PORTS_PER_BITMAP) as usize),
            }
        }
        Ok(())
    }
}

/// Whether an access of `size_bytes` at `port` exits under bitmaps `a` and `b` (wrapping past 0xFFFF exits).
pub fn port_access_exits(
    a: &impl PageWords,
    b: &impl PageWords,
    port: u16,
    size_bytes: u8,
) -> bool {
    (0..u32::from(size_bytes)).any(|i| match u32::from(port) + i {
        p if p < PORTS_PER_BITMAP => page_bit(a, p as usize),
        p if p < 2 * PORTS_PER_BITMAP => page_bit(b, (p - PORTS_PER_BITMAP) as usize),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn pages() -> (Box<[u8; IO_BITMAP_BYTES]>, Box<[u8; IO_BITMAP_BYTES]>) {
        (
            Box::new([0; IO_BITMAP_BYTES]),
            Box::new([0; IO_BITMAP_BYTES]),
        )
    }

    #[test]
    fn granted_com1_is_open_and_neighbours_stay_closed() {
        let (mut a, mut b) = pages();
        IoBitmaps::deny_all(&mut *a, &mut *b)
            .allow(0x3F8, 8)
            .unwrap();
        assert!(!port_access_exits(&*a, &*b, 0x3F8, 1));
        assert!(!port_access_exits(&*a, &*b, 0x3FC, 4));
        assert!(
            port_access_exits(&*a, &*b, 0x3FE, 4),
            "access spilling past the range exits"
        );
        assert!(port_access_exits(&*a, &*b, 0x3F7, 1));
        assert!(port_access_exits(&*a, &*b, 0x400, 1));
        assert!(port_access_exits(&*a, &*b, 0xCF8, 4));
    }

    #[test]
    fn high_ports_use_bitmap_b() {
        let (mut a, mut b) = pages();
        IoBitmaps::deny_all(&mut *a, &mut *b)
            .allow(0x7FFF, 2)
            .unwrap();
        assert!(!port_access_exits(&*a, &*b, 0x7FFF, 2));
        assert_eq!(b[0], 0xFE);
        assert_eq!(a[0xFFF], 0x7F);
    }

    #[test]
    fn ranges_past_the_last_port_are_refused_and_wrapping_exits() {
        let (mut a, mut b) = pages();
        let mut bitmaps = IoBitmaps::deny_all(&mut *a, &mut *b);
        assert_eq!(
            bitmaps.allow(0xFFFF, 2),
            Err(PortRangeTooLong {
                base: 0xFFFF,
                count: 2
            })
        );
        bitmaps.allow(0xFFFC, 4).unwrap();
        assert!(!port_access_exits(&*a, &*b, 0xFFFC, 4));
        assert!(port_access_exits(&*a, &*b, 0xFFFE, 4));
    }
}
