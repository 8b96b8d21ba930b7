//! The exit-path figure of `cargo xtask test`: scenario `pingpong-intra` built with the release
//! profile and run with IPIv on and off (`exit-path --ipiv on|off`). Each run is judged by the
//! scenario's own header, so the exits per IPI are asserted exactly (none with IPIv, one WRMSR per
//! IPI sent without it); the emulated cycles per round trip are only read and printed, never
//! asserted (they move with the code and the emulator), as
//! `exit path (release): trapped IPI round trip N emulated cycles (IPIv: M), exits per IPI K`.

use crate::emulator::source::{self, Source};
use crate::emulator::Scenario;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The scenario whose release image is measured.
const SCENARIO: &str = "pingpong-intra";
/// Name of the runs (`exit-path --ipiv on|off`), what `--scenario` selects them by.
pub const NAME: &str = "exit-path";

/// One run's figures, from its ping side's SUMMARY lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundTrips {
    /// Emulated cycles per round trip with the receiver polling, and halted.
    pub poll_cycles: u64,
    pub halt_cycles: u64,
    /// Exits of the polling pair's ping side while it sent `ipis` IPIs (the header asserts the
    /// same count on both sides of both pairs).
    pub sender_exits: u64,
    pub ipis: u64,
}

impl RoundTrips {
    /// Sender exits per IPI, as a whole number when it is one (`1`, `0`), else to two places.
    pub fn exits_per_ipi(&self) -> String {
        let ipis = self.ipis.max(1);
        match self.sender_exits % ipis {
            0 => (self.sender_exits / ipis).to_string(),
            _ => format!("{:.2}", self.sender_exits as f64 / ipis as f64),
        }
    }
}

/// The figures of the runs that passed, by IPIv on (true) or off (false).
#[derive(Clone, Default)]
pub struct Figures(Arc<Mutex<BTreeMap<bool, RoundTrips>>>);

impl Figures {
    /// The line `cargo xtask test` prints once both runs passed.
    pub fn line(&self) -> Option<String> {
        let figures = self.0.lock().expect("figures");
        let (off, on) = (figures.get(&false)?, figures.get(&true)?);
        Some(format_line(off, on))
    }

    fn record(&self, ipiv: bool, figures: RoundTrips) {
        self.0.lock().expect("figures").insert(ipiv, figures);
    }
}

/// `exit path (release): trapped IPI round trip ...` from the run without IPIv (`off`) and with it.
pub fn format_line(off: &RoundTrips, on: &RoundTrips) -> String {
    format!(
        "exit path (release): trapped IPI round trip {} emulated cycles (IPIv: {}), halted receiver {} (IPIv: {}), \
         exits per IPI {} (IPIv: {}), {} emulated cycles per trapped IPI",
        off.poll_cycles,
        on.poll_cycles,
        off.halt_cycles,
        on.halt_cycles,
        off.exits_per_ipi(),
        on.exits_per_ipi(),
        off.poll_cycles.saturating_sub(on.poll_cycles) / 2,
    )
}

/// The two runs (IPIv on, off) of the release image, each recording its figures into `figures`
/// when it passes.
pub fn scenarios(figures: &Figures) -> Result<Vec<Scenario>, String> {
    let runs = super::scenario::release_runs(SCENARIO, NAME)?;
    Ok(runs
        .into_iter()
        .map(|run| {
            let ipiv = run.spec.ipiv;
            let figures = figures.clone();
            run.then_check(move |outcome| {
                figures.record(ipiv, round_trips(&outcome.serial)?);
                Ok(())
            })
        })
        .collect())
}

/// The ping sides' figures in a COM1 log of `pingpong-intra`.
pub fn round_trips(serial: &str) -> Result<RoundTrips, String> {
    let ping = |partition: &str| -> Result<BTreeMap<&str, u64>, String> {
        serial
            .lines()
            .filter_map(|line| match source::split(line) {
                (Source::Guest { partition: p }, text) if p == partition => Some(text),
                _ => None,
            })
            .find(|text| text.starts_with("SUMMARY ") && text.contains(" side=ping "))
            .map(pairs)
            .ok_or_else(|| format!("no SUMMARY line of the ping side of `{partition}`"))
    };
    let (poll, halt) = (ping("intra-poll")?, ping("intra-halt")?);
    let get = |pairs: &BTreeMap<&str, u64>, key: &str| {
        pairs
            .get(key)
            .copied()
            .ok_or_else(|| format!("the ping side's SUMMARY line has no {key}="))
    };
    Ok(RoundTrips {
        poll_cycles: get(&poll, "cycles_per_round_trip")?,
        halt_cycles: get(&halt, "cycles_per_round_trip")?,
        sender_exits: get(&poll, "sender_exits")?,
        ipis: get(&poll, "ipis")?,
    })
}

/// The numeric `key=value` pairs of a SUMMARY line.
fn pairs(text: &str) -> BTreeMap<&str, u64> {
    text.split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
[intra-poll] SUMMARY scenario=pingpong-intra-poll side=pong ipiv=off ipis=1000 delivered=1000 sender_exits=1000 receiver_exits=0 cycles_in_exchange=9
[intra-halt] SUMMARY scenario=pingpong-intra-halt side=ping ipiv=off ipis=1000 delivered=1000 sender_exits=1000 receiver_exits=0 cycles_per_round_trip=1427
SUMMARY scenario=pingpong-intra-poll side=ping cycles_per_round_trip=5
[intra-poll] SUMMARY scenario=pingpong-intra-poll side=ping ipiv=off ipis=1000 delivered=1000 sender_exits=1000 receiver_exits=0 cycles_per_round_trip=1405
";

    #[test]
    fn reads_the_ping_sides_of_both_pairs() {
        let figures = round_trips(LOG).unwrap();
        assert_eq!(
            figures,
            RoundTrips {
                poll_cycles: 1405,
                halt_cycles: 1427,
                sender_exits: 1000,
                ipis: 1000,
            }
        );
    }

    #[test]
    fn a_missing_side_is_an_error() {
        let without_halt: String = LOG
            .lines()
            .filter(|l| !l.starts_with("[intra-halt]"))
            .map(|l| format!("{l}\n"))
            .collect();
        let error = round_trips(&without_halt).unwrap_err();
        assert!(error.contains("intra-halt"), "{error}");
    }

    #[test]
    fn the_line_needs_both_runs() {
        let figures = Figures::default();
        let off = round_trips(LOG).unwrap();
        figures.record(false, off);
        assert_eq!(figures.line(), None);
        let on = RoundTrips {
            poll_cycles: 331,
            halt_cycles: 349,
            sender_exits: 0,
            ipis: 1000,
        };
        figures.record(true, on);
        let line = figures.line().unwrap();
        assert!(
            line.starts_with(
                "exit path (release): trapped IPI round trip 1405 emulated cycles (IPIv: 331)"
            ),
            "{line}"
        );
        assert!(line.contains("exits per IPI 1 (IPIv: 0)"), "{line}");
        assert!(
            line.ends_with("537 emulated cycles per trapped IPI"),
            "{line}"
        );
    }

    #[test]
    fn exits_per_ipi_that_are_not_whole_show_two_places() {
        let mut figures = round_trips(LOG).unwrap();
        figures.sender_exits = 1500;
        assert_eq!(figures.exits_per_ipi(), "1.50");
    }
}
