//! Measuring how deep a stack has been used: the bytes from its bottom that still hold the fill
//! byte it started with were never written. A leaf: host stacks (`fixed_heap`) and start-up
//! stacks (`percpu`, `boot`) both have one.

/// Measures how deep a stack has been used: the bytes from its bottom that still hold its fill
/// byte (`STACK_FILL` for host stacks, 0 for the `.bss` start-up stacks) were never written.
#[derive(Debug, Clone, Copy)]
pub struct StackProbe {
    bottom: u64,
    bytes: usize,
    fill: u8,
}

impl StackProbe {
    /// The probe of a stack of `bytes` at `bottom` whose every byte was set to `fill`.
    pub(crate) fn filled(bottom: u64, bytes: usize, fill: u8) -> Self {
        StackProbe {
            bottom,
            bytes,
            fill,
        }
    }

    /// The probe of a static stack of `bytes` at `bottom` that starts zeroed (`.bss`).
    pub(crate) fn zero_filled(bottom: u64, bytes: usize) -> Self {
        Self::filled(bottom, bytes, 0)
    }

    /// Bytes used at the deepest point so far.
    pub fn used_bytes(&self) -> usize {
        self.bytes - self.untouched_bytes()
    }

    pub fn size_bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes below the deepest write so far (0: the stack was used to its bottom or beyond).
    pub fn untouched_bytes(&self) -> usize {
        let base = self.bottom as *const u8;
        (0..self.bytes)
            // SAFETY: inside the stack block, which stays allocated for good; volatile because
            // the owning CPU writes the stack (the probe only reads below its current depth).
            .take_while(|&i| unsafe { core::ptr::read_volatile(base.add(i)) } == self.fill)
            .count()
    }
}
