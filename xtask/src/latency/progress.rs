//! One emulator run of the latency image with a progress bar: samples printed so far against the
//! samples the plan expects (both sides of a one-way probe print theirs), and the probe at hand.

use crate::emulator::{Emulator, RunOutcome, RunSpec};
use indicatif::{ProgressBar, ProgressStyle};
use tessera_latency_record::decode::parse_line;
use tessera_latency_record::plan::Plan;
use tessera_latency_record::Family;

/// Values the plan's records will carry in all.
pub fn expected_values(plan: &Plan) -> u64 {
    let per_side = u64::from(plan.settings.samples);
    plan.probes()
        .map(|p| match p.family {
            Family::IpiOneWay => 2 * per_side,
            _ => per_side,
        })
        .sum()
}

pub fn run(
    emulator: &Emulator,
    mut spec: RunSpec,
    label: &str,
    plan: &Plan,
) -> Result<RunOutcome, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    spec.lines = Some(sender);
    let bar = ProgressBar::new(expected_values(plan));
    let style = ProgressStyle::with_template(
        "{prefix:>8} [{elapsed_precise}] {bar:30} {pos}/{len} samples {msg}",
    )
    .map_err(|e| e.to_string())?;
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar.set_message("booting");
    let names: Vec<String> = plan.probes().map(|p| p.name().to_string()).collect();
    let outcome = std::thread::scope(|scope| {
        let emulator_run = scope.spawn(move || crate::emulator::run(emulator, &spec));
        for line in receiver {
            follow(&bar, &names, &line);
        }
        emulator_run.join().expect("emulator thread")
    });
    bar.finish_with_message("done");
    outcome
}

fn follow(bar: &ProgressBar, names: &[String], line: &str) {
    let Ok(Some(record)) = parse_line(line) else {
        return;
    };
    match record.kind {
        'D' => bar.inc(record.numbers("v").map_or(0, |v| v.len() as u64)),
        'P' => {
            if let Some(name) = record.number("p").ok().and_then(|p| names.get(p as usize)) {
                bar.set_message(format!("(printing {name})"));
            }
        }
        _ => {}
    }
}
