//! Layout of the real-mode AP trampoline: where it is copied, and the parameter block it reads.

use core::mem::offset_of;

/// Physical address the trampoline is copied to (below 1 MiB, page aligned; SIPI vector 0x08).
pub const TRAMPOLINE_BASE: u64 = 0x8000;
/// Bytes reserved for the trampoline at `TRAMPOLINE_BASE`.
pub const TRAMPOLINE_BYTES: u64 = 0x1000;
/// Offset of `TrampolineParams` inside the trampoline (right after its first jump).
pub const PARAMS_OFFSET: u64 = 8;

/// What the boot CPU writes into the trampoline before starting one AP.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrampolineParams {
    /// Physical address of the PML4 to load (below 4 GiB: the AP loads it in 32-bit mode).
    pub cr3: u64,
    /// Initial stack pointer (16-byte aligned).
    pub stack_top: u64,
    /// Address of the 64-bit Rust entry, called as `extern "C" fn(cpu_index: u64) -> !`.
    pub entry: u64,
    /// Index the AP gets.
    pub cpu_index: u64,
}

/// Offsets of each parameter from `TRAMPOLINE_BASE`, for the assembly.
pub const CR3_OFFSET: u64 = PARAMS_OFFSET + offset_of!(TrampolineParams, cr3) as u64;
pub const STACK_OFFSET: u64 = PARAMS_OFFSET + offset_of!(TrampolineParams, stack_top) as u64;
pub const ENTRY_OFFSET: u64 = PARAMS_OFFSET + offset_of!(TrampolineParams, entry) as u64;
pub const CPU_INDEX_OFFSET: u64 = PARAMS_OFFSET + offset_of!(TrampolineParams, cpu_index) as u64;

/// Why a trampoline placement or its parameters are unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrampolineError {
    /// The base must be page aligned and the whole trampoline below 1 MiB (the SIPI vector is 8 bits).
    BadBase(u64),
    /// The code does not fit in `TRAMPOLINE_BYTES`.
    TooLong(u64),
    /// The PML4 must be below 4 GiB.
    Cr3Above4GiB(u64),
    /// The stack must be 16-byte aligned.
    StackMisaligned(u64),
}

impl core::fmt::Display for TrampolineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            TrampolineError::BadBase(base) => write!(
                f,
                "base {base:#x} is not page aligned with the whole trampoline below 1 MiB"
            ),
            TrampolineError::TooLong(bytes) => write!(
                f,
                "code of {bytes} bytes does not fit in {TRAMPOLINE_BYTES} bytes"
            ),
            TrampolineError::Cr3Above4GiB(cr3) => write!(f, "PML4 at {cr3:#x} is not below 4 GiB"),
            TrampolineError::StackMisaligned(top) => {
                write!(f, "stack top {top:#x} is not 16-byte aligned")
            }
        }
    }
}

/// The SIPI vector (start page) for a trampoline at `base` of `code_bytes` bytes.
pub fn sipi_vector(base: u64, code_bytes: u64) -> Result<u8, TrampolineError> {
    if !base.is_multiple_of(4096) || base + TRAMPOLINE_BYTES > 0x10_0000 || base == 0 {
        return Err(TrampolineError::BadBase(base));
    }
    if code_bytes > TRAMPOLINE_BYTES {
        return Err(TrampolineError::TooLong(code_bytes));
    }
    Ok((base / 4096) as u8)
}

impl TrampolineParams {
    /// Checks what the 32-bit and 64-bit halves of the trampoline rely on.
    pub fn validate(&self) -> Result<(), TrampolineError> {
        if self.cr3 >= 1 << 32 {
            return Err(TrampolineError::Cr3Above4GiB(self.cr3));
        }
        if !self.stack_top.is_multiple_of(16) {
            return Err(TrampolineError::StackMisaligned(self.stack_top));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_the_first_jump_in_order() {
        assert_eq!(
            (CR3_OFFSET, STACK_OFFSET, ENTRY_OFFSET, CPU_INDEX_OFFSET),
            (8, 16, 24, 32)
        );
    }

    #[test]
    fn default_base_gives_vector_8() {
        assert_eq!(sipi_vector(TRAMPOLINE_BASE, 200), Ok(0x08));
    }

    #[test]
    fn rejects_unaligned_high_and_long() {
        assert_eq!(
            sipi_vector(0x8100, 10),
            Err(TrampolineError::BadBase(0x8100))
        );
        assert_eq!(sipi_vector(0xFF000, 10), Ok(0xFF));
        assert_eq!(
            sipi_vector(0x10_0000, 10),
            Err(TrampolineError::BadBase(0x10_0000))
        );
        assert_eq!(
            sipi_vector(0x8000, 5000),
            Err(TrampolineError::TooLong(5000))
        );
    }

    #[test]
    fn params_validation() {
        let ok = TrampolineParams {
            cr3: 0x20_1000,
            stack_top: 0x30_0000,
            entry: 1,
            cpu_index: 1,
        };
        assert_eq!(ok.validate(), Ok(()));
        let high = TrampolineParams { cr3: 1 << 32, ..ok };
        assert_eq!(high.validate(), Err(TrampolineError::Cr3Above4GiB(1 << 32)));
        let odd = TrampolineParams {
            stack_top: 0x30_0008,
            ..ok
        };
        assert_eq!(
            odd.validate(),
            Err(TrampolineError::StackMisaligned(0x30_0008))
        );
    }
}
