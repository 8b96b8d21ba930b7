//! SVG plots (plotters' SVG backend): per probe a histogram and a CDF of its samples, per run and
//! probe family one CDF overlay of every probe of that family. Axes say the run's unit.

use super::campaign::Campaign;
use super::report::Run;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use tessera_latency_record::{Family, Named};

const SIZE: (u32, u32) = (900, 540);
/// Histogram bars.
const BINS: u64 = 60;

/// Writes every plot of `run` (from `campaign`) into `dir`; returns the files written.
pub fn write_all(dir: &Path, run: &Run, campaign: &Campaign) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let prefix = slug(&run.label);
    for probe in &campaign.probes {
        if probe.samples.is_empty() {
            continue;
        }
        let base = format!("{prefix}-{}", slug(&probe.name));
        let title = format!("{} ({}, {})", probe.name, probe.path, run.label);
        let histogram = dir.join(format!("{base}-histogram.svg"));
        draw_histogram(&histogram, &title, &run.unit, &probe.samples)
            .map_err(|e| format!("{}: {e}", histogram.display()))?;
        let cdf = dir.join(format!("{base}-cdf.svg"));
        draw_cdfs(
            &cdf,
            &title,
            &run.unit,
            &[(probe.name.as_str(), &probe.samples)],
        )
        .map_err(|e| format!("{}: {e}", cdf.display()))?;
        written.extend([histogram, cdf]);
    }
    for family in Family::ALL {
        let members: Vec<(&str, &Vec<u64>)> = campaign
            .probes
            .iter()
            .filter(|p| p.family == *family && !p.samples.is_empty())
            .map(|p| (p.name.as_str(), &p.samples))
            .collect();
        if members.is_empty() {
            continue;
        }
        let file = dir.join(format!("{prefix}-{}-overlay.svg", family.name()));
        let title = format!("{}: every probe ({})", family.name(), run.label);
        let series: Vec<(&str, &[u64])> = members.iter().map(|(n, s)| (*n, s.as_slice())).collect();
        draw_cdfs(&file, &title, &run.unit, &series)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        written.push(file);
    }
    Ok(written)
}

/// Lowercase letters, digits and `-` only (file names).
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            _ if !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_matches('-').to_string()
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_histogram(file: &Path, title: &str, unit: &str, samples: &[u64]) -> DrawResult {
    let (low, high) = range(samples);
    let width = (high - low).div_ceil(BINS).max(1);
    let mut counts = vec![0u64; BINS as usize + 1];
    for &s in samples {
        counts[((s - low) / width) as usize] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1);
    let root = SVGBackend::new(file, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(low..high + width, 0u64..top + top / 10 + 1)?;
    chart
        .configure_mesh()
        .x_desc(unit)
        .y_desc("samples")
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &count)| {
        let x = low + i as u64 * width;
        Rectangle::new([(x, 0), (x + width, count)], BLUE.mix(0.6).filled())
    }))?;
    root.present()?;
    Ok(())
}

fn draw_cdfs(file: &Path, title: &str, unit: &str, series: &[(&str, &[u64])]) -> DrawResult {
    let all: Vec<u64> = series.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    let (low, high) = range(&all);
    let root = SVGBackend::new(file, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(low..high + 1, 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc(unit)
        .y_desc("fraction of samples <= x")
        .draw()?;
    for (index, (name, samples)) in series.iter().enumerate() {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len() as f64;
        let color = Palette99::pick(index).to_rgba();
        let points = sorted
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, (i + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Smallest and largest sample.
fn range(samples: &[u64]) -> (u64, u64) {
    let low = samples.iter().copied().min().unwrap_or(0);
    let high = samples.iter().copied().max().unwrap_or(1).max(low + 1);
    (low, high)
}
