//! Lateness figures of a run of ticks: minimum, median and maximum, in TSC cycles.

/// Most ticks one run records.
pub const MAX_TICKS: usize = 256;

/// Lateness samples (handler entry TSC minus deadline).
pub struct Lateness {
    samples: heapless::Vec<u64, MAX_TICKS>,
}

impl Lateness {
    pub fn new() -> Self {
        Lateness {
            samples: heapless::Vec::new(),
        }
    }

    /// Records one sample (beyond `MAX_TICKS` samples are dropped).
    pub fn record(&mut self, cycles: u64) {
        let _ = self.samples.push(cycles);
    }

    /// (min, median, max); zeros when empty.
    pub fn summary(&self) -> (u64, u64, u64) {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        match (sorted.first(), sorted.last()) {
            (Some(&min), Some(&max)) => (min, sorted[sorted.len() / 2], max),
            _ => (0, 0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_median_max() {
        let mut l = Lateness::new();
        assert_eq!(l.summary(), (0, 0, 0));
        for v in [40, 10, 30, 20, 50] {
            l.record(v);
        }
        assert_eq!(l.summary(), (10, 30, 50));
    }
}
