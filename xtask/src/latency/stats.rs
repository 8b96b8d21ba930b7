//! Summary statistics of one probe's samples, from an HDR histogram (3 significant digits, so
//! every percentile is within 0.1% of the exact order statistic); min and max are exact.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// n, extremes, percentiles, mean and standard deviation, in the samples' unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
}

/// The histogram of `samples`.
pub fn histogram(samples: &[u64]) -> Histogram<u64> {
    let mut histogram = Histogram::<u64>::new(3).expect("3 significant digits is valid");
    for &sample in samples {
        histogram
            .record(sample)
            .expect("auto-resizing histogram takes every u64");
    }
    histogram
}

/// Summarizes `samples` (`None` when there are none).
pub fn summarize(samples: &[u64]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let histogram = histogram(samples);
    let (min, max) = (
        *samples.iter().min().expect("not empty"),
        *samples.iter().max().expect("not empty"),
    );
    // A bucket's highest equivalent value can pass the exact extremes: keep percentiles inside.
    let at = |q: f64| histogram.value_at_quantile(q).clamp(min, max);
    Some(Summary {
        n: histogram.len(),
        min,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p99_9: at(0.999),
        max,
        mean: histogram.mean(),
        stddev: histogram.stdev(),
    })
}

impl Summary {
    /// The figure named `name` (`p50`, `mean`, ...) as a float.
    pub fn figure(&self, name: &str) -> Option<f64> {
        Some(match name {
            "n" => self.n as f64,
            "min" => self.min as f64,
            "p50" => self.p50 as f64,
            "p90" => self.p90 as f64,
            "p99" => self.p99 as f64,
            "p99.9" => self.p99_9 as f64,
            "max" => self.max as f64,
            "mean" => self.mean,
            "stddev" => self.stddev,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(found: f64, exact: f64, relative: f64) -> bool {
        (found - exact).abs() <= exact.abs() * relative + 1.0
    }

    #[test]
    fn uniform_distribution() {
        let samples: Vec<u64> = (1..=100_000).collect();
        let s = summarize(&samples).unwrap();
        assert_eq!((s.n, s.min, s.max), (100_000, 1, 100_000));
        for (found, exact) in [
            (s.p50, 50_000.0),
            (s.p90, 90_000.0),
            (s.p99, 99_000.0),
            (s.p99_9, 99_900.0),
        ] {
            assert!(close(found as f64, exact, 0.001), "{found} vs {exact}");
        }
        assert!(close(s.mean, 50_000.5, 0.001), "{}", s.mean);
        // Standard deviation of the discrete uniform 1..=N: sqrt((N^2 - 1) / 12).
        assert!(close(s.stddev, 28_867.5, 0.002), "{}", s.stddev);
    }

    #[test]
    fn exponential_distribution_from_its_quantiles() {
        // x_i = -m ln(1 - (i + 0.5) / N): a sample whose q-quantile is -m ln(1 - q).
        let (mean, n) = (2_000.0f64, 200_000);
        let samples: Vec<u64> = (0..n)
            .map(|i| (-mean * (1.0 - (i as f64 + 0.5) / n as f64).ln()).round() as u64)
            .collect();
        let s = summarize(&samples).unwrap();
        for (found, q) in [(s.p50, 0.5), (s.p90, 0.9), (s.p99, 0.99), (s.p99_9, 0.999)] {
            let exact = -mean * (1.0f64 - q).ln();
            assert!(
                close(found as f64, exact, 0.002),
                "q={q}: {found} vs {exact}"
            );
        }
        assert!(close(s.mean, mean, 0.01), "{}", s.mean);
        assert!(close(s.stddev, mean, 0.02), "{}", s.stddev);
    }

    #[test]
    fn constant_and_empty() {
        let s = summarize(&[330; 1000]).unwrap();
        assert_eq!((s.min, s.p50, s.p99_9, s.max), (330, 330, 330, 330));
        assert_eq!(s.stddev, 0.0);
        assert_eq!(summarize(&[]), None);
    }
}
