//! A partition's RAM once its guest runs: the guest writes it behind the hypervisor's back, so the
//! hypervisor no longer holds a Rust reference to it and only copies bytes out or in with volatile
//! accesses (a console hypercall's buffer, the exit-counters hypercall's array).

/// Access to RAM a guest owns (made from the `claim_ram` slice, which it consumes).
#[derive(Debug, Clone, Copy)]
pub struct GuestRam {
    base: *mut u8,
    bytes: usize,
}

// SAFETY: `GuestRam` only performs volatile byte accesses to RAM that stays mapped for good; the
// guest accessing it concurrently cannot make them unsound (no reference to the bytes exists).
unsafe impl Send for GuestRam {}
// SAFETY: as above; every access is a volatile byte copy, whoever makes it.
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// Gives up the exclusive slice of a claim (after the image and boot area are written).
    pub fn from_claim(ram: &'static mut [u8]) -> Self {
        Self {
            base: ram.as_mut_ptr(),
            bytes: ram.len(),
        }
    }

    /// Size in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// Copies `out.len()` bytes starting at `offset` into `out`; `None` if that leaves the RAM.
    pub fn copy_out(&self, offset: usize, out: &mut [u8]) -> Option<()> {
        let end = offset.checked_add(out.len())?;
        if end > self.bytes {
            return None;
        }
        for (i, byte) in out.iter_mut().enumerate() {
            // SAFETY: `offset + i < bytes`, inside the claimed RAM, which stays mapped for good.
            *byte = unsafe { core::ptr::read_volatile(self.base.add(offset + i)) };
        }
        Some(())
    }

    /// Copies `bytes` into the RAM at `offset`; `None` (nothing written) if that leaves the RAM.
    pub fn copy_in(&self, offset: usize, bytes: &[u8]) -> Option<()> {
        let end = offset.checked_add(bytes.len())?;
        if end > self.bytes {
            return None;
        }
        for (i, &byte) in bytes.iter().enumerate() {
            // SAFETY: `offset + i < bytes`, inside the claimed RAM, which stays mapped for good and
            // belongs to the guest alone: the hypervisor keeps no Rust object there.
            unsafe { core::ptr::write_volatile(self.base.add(offset + i), byte) };
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_inside_and_refuses_outside() {
        let ram: &'static mut [u8] = Box::leak(vec![1u8, 2, 3, 4].into_boxed_slice());
        let view = GuestRam::from_claim(ram);
        let mut out = [0u8; 2];
        assert_eq!(view.copy_out(2, &mut out), Some(()));
        assert_eq!(out, [3, 4]);
        assert_eq!(view.copy_out(3, &mut out), None);
        assert_eq!(view.copy_out(usize::MAX, &mut out), None);
        assert_eq!(view.len_bytes(), 4);
    }

    #[test]
    fn writes_inside_and_refuses_outside_whole() {
        let ram: &'static mut [u8] = Box::leak(vec![0u8; 4].into_boxed_slice());
        let view = GuestRam::from_claim(ram);
        assert_eq!(view.copy_in(1, &[7, 8]), Some(()));
        assert_eq!(view.copy_in(3, &[9, 9]), None);
        assert_eq!(view.copy_in(usize::MAX, &[1]), None);
        let mut out = [0u8; 4];
        view.copy_out(0, &mut out).unwrap();
        assert_eq!(
            out,
            [0, 7, 8, 0],
            "a refused write leaves every byte as it was"
        );
    }
}
