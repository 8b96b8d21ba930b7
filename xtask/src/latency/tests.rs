//! Host tests of the whole reading path on a log the emulator printed
//! (tests/latency/emulator-sample.log, the scenario's manifest with IPIv off): it passes the
//! scenario's checks, gives the golden report, and every kind of damage is refused by line.

use super::scenario::check_serial;
use super::{from_log, Report};
use std::path::PathBuf;

fn fixture() -> PathBuf {
    crate::workspace::root().join("tests/latency/emulator-sample.log")
}

fn text() -> String {
    std::fs::read_to_string(fixture()).unwrap()
}

#[test]
fn the_sample_log_passes_the_scenario_checks() {
    check_serial(&text(), (false, false), 20).unwrap();
    let wrong_mode = check_serial(&text(), (true, false), 20).unwrap_err();
    assert!(wrong_mode.contains("saw IPIv off"), "{wrong_mode}");
    let wrong_timer = check_serial(&text(), (false, true), 20).unwrap_err();
    assert!(
        wrong_timer.contains("saw APIC-timer virtualization off in a run with it on"),
        "{wrong_timer}"
    );
}

#[test]
fn the_sample_log_gives_the_golden_report() {
    let report = from_log(&fixture(), true).unwrap().report;
    let json = serde_json::to_string_pretty(&report).unwrap() + "\n";
    let golden = crate::workspace::root().join("tests/latency/golden-report.json");
    if std::env::var_os("TESSERA_BLESS").is_some() {
        std::fs::write(&golden, &json).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        json, expected,
        "set TESSERA_BLESS=1 to accept a new golden report"
    );
    let back: Report = serde_json::from_str(&expected).unwrap();
    assert_eq!(
        back.runs[0].probes.len(),
        report.runs[0].probes.len(),
        "a baseline reads back"
    );
    assert_eq!(report.runs[0].unit, "emulated cycles");
    assert!(
        report.runs[0].probes.iter().all(|p| p.ns.is_none()),
        "emulated figures are never time"
    );
}

/// The first line holding `needle`, 0-based.
fn line_of(lines: &[&str], needle: &str) -> usize {
    lines.iter().position(|l| l.contains(needle)).unwrap()
}

fn error_of(lines: &[String]) -> String {
    let joined = lines.join("\n");
    super::log::read("log", &joined)
        .and_then(|log| super::campaign::assemble("log", &log).map(|_| ()))
        .unwrap_err()
}

#[test]
fn damaged_logs_are_refused_with_the_line() {
    let text = text();
    let lines: Vec<&str> = text.lines().collect();
    let owned = || lines.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let data = line_of(&lines, " D p=3 ");
    // Truncated: everything after a data record is lost.
    let error = error_of(&owned()[..=data]);
    assert!(
        error.contains("the log ends without the end record"),
        "{error}"
    );
    // Corrupted: one digit changed.
    let mut corrupted = owned();
    corrupted[data] = corrupted[data].replacen(",", ",9", 1);
    let error = error_of(&corrupted);
    assert!(
        error.starts_with(&format!("log:{}: record checksum mismatch", data + 1)),
        "{error}"
    );
    // Duplicated.
    let mut duplicated = owned();
    duplicated.insert(data + 1, lines[data].to_string());
    let error = error_of(&duplicated);
    assert!(
        error.starts_with(&format!("log:{}: duplicated record", data + 2)),
        "{error}"
    );
    // Reordered: two records of one stream swapped.
    let mut reordered = owned();
    let next = data
        + 1
        + lines[data + 1..]
            .iter()
            .position(|l| {
                l.starts_with(lines[data].split(']').next().unwrap())
                    && l.contains(" v=0 ") == lines[data].contains(" v=0 ")
            })
            .unwrap();
    reordered.swap(data, next);
    let error = error_of(&reordered);
    assert!(
        error.starts_with(&format!("log:{}: record", data + 1)) && error.contains("missing"),
        "{error}"
    );
    // Cut in the middle of a line.
    let mut cut = owned();
    cut[data].truncate(40);
    let error = error_of(&cut);
    assert!(
        error.starts_with(&format!("log:{}: record has no", data + 1)),
        "{error}"
    );
}

#[test]
fn runs_cover_ipiv_and_timer_virtualization() {
    use super::{run_label, run_modes};
    assert_eq!(
        run_modes("both", "like-ipiv"),
        [(true, true), (false, false)]
    );
    assert_eq!(
        run_modes("both", "both"),
        [(true, true), (true, false), (false, true), (false, false)]
    );
    assert_eq!(run_modes("on", "off"), [(true, false)]);
    assert_eq!(run_modes("off", "like-ipiv"), [(false, false)]);
    assert_eq!(run_label(true, false), "ipiv-on-timer-virt-off");
}
