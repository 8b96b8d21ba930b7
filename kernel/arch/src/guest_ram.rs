//! A partition's RAM once its guest runs: the guest writes it behind the hypervisor's back, so the
//! hypervisor no longer holds a Rust reference to it and only copies bytes out with volatile reads
//! (e.g. a console hypercall's buffer).

/// Read access to RAM a guest owns (made from the `claim_ram` slice, which it consumes).
#[derive(Debug, Clone, Copy)]
pub struct GuestRam {
    base: *const u8,
    bytes: usize,
}

// SAFETY: `GuestRam` only performs volatile reads of RAM that stays mapped for good; the guest
// writing concurrently cannot make those reads unsound (no reference to the bytes exists).
unsafe impl Send for GuestRam {}
// SAFETY: as above; shared use only reads.
unsafe impl Sync for GuestRam {}

impl GuestRam {
    /// Gives up the exclusive slice of a claim (after the image and boot area are written).
    pub fn from_claim(ram: &'static mut [u8]) -> Self {
        Self {
            base: ram.as_ptr(),
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
}
