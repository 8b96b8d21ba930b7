//! A set of interrupt vectors (0..=255) as a 256-bit bitmap, usable in `const` statics: a trapped
//! route's allow-list (in the plan and in [`super::RouteKind::Trapped`]).

/// Bit `v` set means vector `v` is in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VectorSet(pub [u64; 4]);

impl VectorSet {
    /// No vector.
    pub const EMPTY: VectorSet = VectorSet([0; 4]);
    /// Every vector a fixed IPI may carry (16..=255).
    pub const DELIVERABLE: VectorSet = VectorSet([!0xFFFF, !0, !0, !0]);

    /// True if `vector` is in the set.
    pub const fn contains(&self, vector: u8) -> bool {
        self.0[(vector / 64) as usize] & (1 << (vector % 64)) != 0
    }

    /// The set plus `vector`.
    pub const fn with(mut self, vector: u8) -> VectorSet {
        self.0[(vector / 64) as usize] |= 1 << (vector % 64);
        self
    }

    /// Vectors in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(move |v| self.contains(*v))
    }

    /// Number of vectors in the set.
    pub const fn len(&self) -> u32 {
        self.0[0].count_ones()
            + self.0[1].count_ones()
            + self.0[2].count_ones()
            + self.0[3].count_ones()
    }

    /// True if the set has no vector.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn deliverable_is_16_to_255() {
        assert!(!VectorSet::DELIVERABLE.contains(15));
        assert!(VectorSet::DELIVERABLE.contains(16));
        assert!(VectorSet::DELIVERABLE.contains(255));
        assert_eq!(VectorSet::DELIVERABLE.len(), 240);
    }

    #[test]
    fn with_adds_exactly_one() {
        let set = VectorSet::EMPTY.with(64).with(200);
        assert_eq!(set.iter().collect::<Vec<_>>(), [64, 200]);
        assert!(!set.contains(63));
        assert!(!VectorSet::EMPTY.with(0).is_empty());
    }
}
