//! A ratio printed with three decimals.

/// `x.yyy` for `numerator / denominator`, in thousandths.
pub struct Ratio(pub u64, pub u64);

impl core::fmt::Display for Ratio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let milli = self.0.saturating_mul(1000) / self.1.max(1);
        write!(f, "{}.{:03}", milli / 1000, milli % 1000)
    }
}
