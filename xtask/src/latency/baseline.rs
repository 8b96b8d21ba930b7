//! `--baseline`: each figure against the same probe of an earlier report (runs matched by label,
//! probes by name), flagged when the change leaves its noise band: the relative band below, and
//! never for a change of at most `FLOOR_CYCLES`. Exits per sample have no band: any change is
//! flagged (they are exact). The bands are the method page's (tests/latency/METHOD.md).

use super::report::{Report, Run};
use std::fmt::Write as _;

/// Figure and its band (relative change that is still noise).
pub const BANDS: [(&str, f64); 5] = [
    ("p50", 0.05),
    ("mean", 0.05),
    ("p90", 0.10),
    ("p99", 0.20),
    ("p99.9", 0.30),
];
/// Changes of at most this many cycles are never flagged.
pub const FLOOR_CYCLES: f64 = 5.0;

/// One compared figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub run: String,
    pub probe: String,
    pub figure: String,
    pub before: f64,
    pub after: f64,
    pub flagged: bool,
}

impl Change {
    /// Relative change in percent (0 when the baseline is 0 and nothing changed).
    pub fn percent(&self) -> f64 {
        if self.before == 0.0 {
            return if self.after == 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
        }
        (self.after - self.before) / self.before * 100.0
    }
}

/// Every comparable figure, and what could not be compared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub changes: Vec<Change>,
    pub unmatched: Vec<String>,
}

pub fn compare(current: &Report, baseline: &Report) -> Comparison {
    let mut out = Comparison::default();
    for run in &current.runs {
        match baseline.runs.iter().find(|b| b.label == run.label) {
            Some(before) => compare_run(run, before, &mut out),
            None => out
                .unmatched
                .push(format!("run `{}` is not in the baseline", run.label)),
        }
    }
    out
}

fn compare_run(run: &Run, before: &Run, out: &mut Comparison) {
    for probe in &run.probes {
        let Some(old) = before.probes.iter().find(|p| p.name == probe.name) else {
            out.unmatched.push(format!(
                "{}: probe `{}` is not in the baseline",
                run.label, probe.name
            ));
            continue;
        };
        for (figure, band) in BANDS {
            let (after, was) = (probe.cycles.figure(figure), old.cycles.figure(figure));
            let (Some(after), Some(was)) = (after, was) else {
                continue;
            };
            let delta = (after - was).abs();
            let flagged = delta > FLOOR_CYCLES && delta > band * was.abs();
            out.changes
                .push(change(run, &probe.name, figure, was, after, flagged));
        }
        let reasons = probe
            .exits_per_sample
            .keys()
            .chain(old.exits_per_sample.keys());
        let mut seen: Vec<&String> = reasons.collect();
        seen.sort();
        seen.dedup();
        for reason in seen {
            let after = probe.exits_per_sample.get(reason).copied().unwrap_or(0.0);
            let was = old.exits_per_sample.get(reason).copied().unwrap_or(0.0);
            let figure = format!("exits {reason}/sample");
            out.changes.push(change(
                run,
                &probe.name,
                &figure,
                was,
                after,
                (after - was).abs() > 1e-9,
            ));
        }
    }
}

fn change(run: &Run, probe: &str, figure: &str, before: f64, after: f64, flagged: bool) -> Change {
    Change {
        run: run.label.clone(),
        probe: probe.to_string(),
        figure: figure.to_string(),
        before,
        after,
        flagged,
    }
}

/// The comparison as text: one line per figure, `!` before those outside their band.
pub fn render(comparison: &Comparison) -> String {
    let mut out = String::new();
    let flagged = comparison.changes.iter().filter(|c| c.flagged).count();
    let _ = writeln!(
        out,
        "== against the baseline: {flagged} of {} figures outside their noise band (p50, mean 5%; p90 10%; p99 20%; p99.9 30%; never <= {FLOOR_CYCLES} cycles; exits: any change)",
        comparison.changes.len()
    );
    for c in &comparison.changes {
        let _ = writeln!(
            out,
            "{} {:<10} {:<34} {:<22} {:>10.1} -> {:>10.1} ({:+.1}%)",
            if c.flagged { "!" } else { " " },
            c.run,
            c.probe,
            c.figure,
            c.before,
            c.after,
            c.percent()
        );
    }
    for missing in &comparison.unmatched {
        let _ = writeln!(out, "  not compared: {missing}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::report::{ProbeReport, FORMAT};
    use crate::latency::stats::summarize;
    use std::collections::BTreeMap;

    fn report(p50_shift: u64, wrmsr: f64) -> Report {
        let samples: Vec<u64> = (0..1000).map(|i| 300 + i % 50 + p50_shift).collect();
        let probe = ProbeReport {
            name: "rtt alpha.0<->alpha.1 poll".into(),
            family: "ipi-roundtrip".into(),
            path: "ipiv".into(),
            route: "intra".into(),
            wait: "poll".into(),
            warmup: 10,
            vcpus: vec![],
            cycles: summarize(&samples).unwrap(),
            ns: None,
            exits_per_sample: BTreeMap::from([("wrmsr".to_string(), wrmsr)]),
            exits_total: BTreeMap::new(),
        };
        let run = Run {
            label: "ipiv-on".into(),
            source: "emulator".into(),
            emulated: true,
            unit: "emulated cycles".into(),
            quantum: Some(1),
            occupancy: None,
            image_version: None,
            cpu_model: "x".into(),
            ipiv_present: true,
            timer_virtualization_present: None,
            tsc_hz: 0,
            tsc_source: "unknown".into(),
            gap_cycles: 1,
            probes: vec![probe],
            vcpus: vec![],
        };
        Report {
            format: FORMAT.into(),
            board: None,
            manifest: None,
            runs: vec![run],
        }
    }

    #[test]
    fn unchanged_figures_stay_inside_their_band() {
        let c = compare(&report(0, 0.0), &report(0, 0.0));
        assert!(!c.changes.is_empty() && c.changes.iter().all(|c| !c.flagged));
        assert!(c.unmatched.is_empty());
    }

    #[test]
    fn a_shift_beyond_the_band_is_flagged_and_small_ones_are_not() {
        let c = compare(&report(100, 0.0), &report(0, 0.0));
        let p50 = c.changes.iter().find(|c| c.figure == "p50").unwrap();
        assert!(p50.flagged && p50.percent() > 25.0, "{p50:?}");
        let c = compare(&report(3, 0.0), &report(0, 0.0));
        assert!(
            c.changes.iter().all(|c| !c.flagged),
            "3 cycles is under the floor"
        );
    }

    #[test]
    fn any_change_of_exits_is_flagged() {
        let c = compare(&report(0, 1.0), &report(0, 0.0));
        let exits = c
            .changes
            .iter()
            .find(|c| c.figure == "exits wrmsr/sample")
            .unwrap();
        assert!(exits.flagged);
        assert!(render(&c).contains("! ipiv-on"), "{}", render(&c));
    }

    #[test]
    fn runs_and_probes_missing_from_the_baseline_are_listed() {
        let mut old = report(0, 0.0);
        old.runs[0].probes[0].name = "other".into();
        let c = compare(&report(0, 0.0), &old);
        assert_eq!(c.unmatched.len(), 1);
        old.runs[0].label = "ipiv-off".into();
        assert_eq!(
            compare(&report(0, 0.0), &old).unmatched,
            ["run `ipiv-on` is not in the baseline"]
        );
    }
}
