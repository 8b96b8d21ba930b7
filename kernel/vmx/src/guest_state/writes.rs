//! Where the field-write builders put their VMCS writes (encoding, value): a [`FieldSink`], either
//! the kernel's VMWRITE of each write as it comes (no list on the host stack) or a fixed-capacity
//! [`FieldWrites`] list (host tests, the emulator check).

/// Receives VMCS writes in order.
pub trait FieldSink {
    fn push(&mut self, encoding: u32, value: u64);
}

impl<F: FnMut(u32, u64)> FieldSink for F {
    fn push(&mut self, encoding: u32, value: u64) {
        self(encoding, value)
    }
}

/// Most writes one list holds.
pub const MAX_WRITES: usize = 64;

/// VMCS writes in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldWrites {
    entries: [(u32, u64); MAX_WRITES],
    len: usize,
}

impl Default for FieldWrites {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldSink for FieldWrites {
    /// Appends a write; the lists built in this crate stay far below [`MAX_WRITES`].
    fn push(&mut self, encoding: u32, value: u64) {
        assert!(self.len < MAX_WRITES, "more than {MAX_WRITES} VMCS writes");
        self.entries[self.len] = (encoding, value);
        self.len += 1;
    }
}

impl FieldWrites {
    pub const fn new() -> Self {
        FieldWrites {
            entries: [(0, 0); MAX_WRITES],
            len: 0,
        }
    }

    /// The writes in order.
    pub fn as_slice(&self) -> &[(u32, u64)] {
        &self.entries[..self.len]
    }

    /// The value written to `encoding` (the last write wins), if any.
    pub fn get(&self, encoding: u32) -> Option<u64> {
        self.as_slice()
            .iter()
            .rev()
            .find(|(e, _)| *e == encoding)
            .map(|&(_, value)| value)
    }

    pub const fn len(&self) -> usize {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}
