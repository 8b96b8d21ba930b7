//! A fixed-capacity list of VMCS field writes (encoding, value) that the kernel replays with VMWRITE.

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

impl FieldWrites {
    pub const fn new() -> Self {
        FieldWrites {
            entries: [(0, 0); MAX_WRITES],
            len: 0,
        }
    }

    /// Appends a write; the lists built in this crate stay far below [`MAX_WRITES`].
    pub fn push(&mut self, encoding: u32, value: u64) {
        assert!(self.len < MAX_WRITES, "more than {MAX_WRITES} VMCS writes");
        self.entries[self.len] = (encoding, value);
        self.len += 1;
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
