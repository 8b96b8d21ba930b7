//! I/O bitmaps A (ports 0x0000-0x7FFF) and B (0x8000-0xFFFF), 4 KiB each (SDM Vol. 3C 25.6.4): a set
//! bit makes an access to that port exit; an access exits if any byte it touches is set. Tessera
//! denies every port except the ranges the manifest grants.

/// Bytes of each I/O bitmap.
pub const IO_BITMAP_BYTES: usize = 4096;
const PORTS_PER_BITMAP: u32 = 0x8000;

/// The range reaches past port 0xFFFF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRangeTooLong {
    pub base: u16,
    pub count: u32,
}

/// Bitmaps A and B being filled in caller-provided pages.
pub struct IoBitmaps<'a> {
    a: &'a mut [u8; IO_BITMAP_BYTES],
    b: &'a mut [u8; IO_BITMAP_BYTES],
}

impl<'a> IoBitmaps<'a> {
    /// Sets every bit: every IN/OUT exits until allowed.
    pub fn deny_all(a: &'a mut [u8; IO_BITMAP_BYTES], b: &'a mut [u8; IO_BITMAP_BYTES]) -> Self {
        a.fill(0xFF);
        b.fill(0xFF);
        IoBitmaps { a, b }
    }

    /// Lets the guest access ports `base..base + count` without exiting.
    pub fn allow(&mut self, base: u16, count: u32) -> Result<(), PortRangeTooLong> {
        if u32::from(base) + count > 0x1_0000 {
            return Err(PortRangeTooLong { base, count });
        }
        for port in u32::from(base)..u32::from(base) + count {
            let (bitmap, index) = if port < PORTS_PER_BITMAP {
                (&mut *self.a, port)
            } else {
                (&mut *self.b, port - PORTS_PER_BITMAP)
            };
            bitmap[(index / 8) as usize] &= !(1 << (index % 8));
        }
        Ok(())
    }
}

/// Whether an access of `size_bytes` at `port` exits under bitmaps `a` and `b` (wrapping past 0xFFFF exits).
pub fn port_access_exits(
    a: &[u8; IO_BITMAP_BYTES],
    b: &[u8; IO_BITMAP_BYTES],
    port: u16,
    size_bytes: u8,
) -> bool {
    (0..u32::from(size_bytes)).any(|i| {
        let p = u32::from(port) + i;
        let (bitmap, index) = match p {
            p if p < PORTS_PER_BITMAP => (a, p),
            p if p < 2 * PORTS_PER_BITMAP => (b, p - PORTS_PER_BITMAP),
            _ => return true,
        };
        bitmap[(index / 8) as usize] & (1 << (index % 8)) != 0
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
        IoBitmaps::deny_all(&mut a, &mut b).allow(0x3F8, 8).unwrap();
        assert!(!port_access_exits(&a, &b, 0x3F8, 1));
        assert!(!port_access_exits(&a, &b, 0x3FC, 4));
        assert!(
            port_access_exits(&a, &b, 0x3FE, 4),
            "access spilling past the range exits"
        );
        assert!(port_access_exits(&a, &b, 0x3F7, 1));
        assert!(port_access_exits(&a, &b, 0x400, 1));
        assert!(port_access_exits(&a, &b, 0xCF8, 4));
    }

    #[test]
    fn high_ports_use_bitmap_b() {
        let (mut a, mut b) = pages();
        IoBitmaps::deny_all(&mut a, &mut b)
            .allow(0x7FFF, 2)
            .unwrap();
        assert!(!port_access_exits(&a, &b, 0x7FFF, 2));
        assert_eq!(b[0], 0xFE);
        assert_eq!(a[0xFFF], 0x7F);
    }

    #[test]
    fn ranges_past_the_last_port_are_refused_and_wrapping_exits() {
        let (mut a, mut b) = pages();
        let mut bitmaps = IoBitmaps::deny_all(&mut a, &mut b);
        assert_eq!(
            bitmaps.allow(0xFFFF, 2),
            Err(PortRangeTooLong {
                base: 0xFFFF,
                count: 2
            })
        );
        bitmaps.allow(0xFFFC, 4).unwrap();
        assert!(!port_access_exits(&a, &b, 0xFFFC, 4));
        assert!(port_access_exits(&a, &b, 0xFFFE, 4));
    }
}
