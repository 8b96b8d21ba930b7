//! A scenario's header: TOML in the `#@` comment lines of its manifest (the manifest itself stays
//! an ordinary partitions file, so its errors point at its real lines). Example:
//!
//! ```toml
//! #@ ipiv = ["on", "off"]          # one emulator run per value (default: ["on"])
//! #@ timeout_s = 300               # wall-clock seconds per run (default: 300)
//! #@ expect = [["[a] ... pass", "[b] ... pass"], "TESSERA-RESULT: pass"]  # see `expect`
//! #@ forbid = ["panic"]            # no COM1 line may match these
//! #@ summary = { scenario = "x" }  # SUMMARY pairs that must be printed
//! #@ expect_ipiv.on = ["SUMMARY ... ipiv=on ... sender_exits=0 "]  # only in the `on` run
//! #@ expect_ipiv.off = ["SUMMARY ... ipiv=off ... sender_exits=1000 "]
//! #@ timer_virt = ["on", "off"]    # APIC-timer virtualization offered or not (default: ["on"])
//! #@ expect_timer_virt.off = ["[p] SUMMARY ... timer=trapped "]  # only in the runs with `off`
//! #@ verdict = "fail"              # the hypervisor's verdict the run must end with (default "pass")
//! #@ hypervisor_features = ["stack-overflow-test"]  # cargo features of the hypervisor (test hooks)
//! ```
//!
//! `expect_ipiv.<mode>` patterns must each match some COM1 line (in any order) in that mode's run:
//! figures that differ with the mode, such as the exits an IPI costs.

use super::expect::Expectation;
use serde::Deserialize;
use std::collections::BTreeMap;

const PREFIX: &str = "#@";

/// `ipiv = "on" | "off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ipiv {
    On,
    Off,
}

/// The `TESSERA-RESULT:` a scenario's run must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// What a scenario expects, and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    #[serde(default = "default_ipiv")]
    pub ipiv: Vec<Ipiv>,
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
    /// COM1 line patterns, in order (see `expect`).
    pub expect: Vec<Expectation>,
    #[serde(default)]
    pub forbid: Vec<String>,
    #[serde(default)]
    pub summary: BTreeMap<String, String>,
    /// COM1 line patterns (any order) required only in the run with that `ipiv` mode.
    #[serde(default)]
    pub expect_ipiv: BTreeMap<Ipiv, Vec<String>>,
    /// APIC-timer virtualization offered (`on`) or not: one run per value and `ipiv` value.
    #[serde(default = "default_ipiv")]
    pub timer_virt: Vec<Ipiv>,
    /// COM1 line patterns (any order) required only in the runs with that `timer_virt` mode.
    #[serde(default)]
    pub expect_timer_virt: BTreeMap<Ipiv, Vec<String>>,
    /// The hypervisor's verdict: `fail` for scenarios whose partitions must not pass (a guest
    /// forging a pass line, for instance).
    #[serde(default = "default_verdict")]
    pub verdict: Verdict,
    /// Cargo features the scenario's hypervisor is built with: test-only hooks such as
    /// `stack-overflow-test` (never in a shipped image).
    #[serde(default)]
    pub hypervisor_features: Vec<String>,
}

impl Header {
    /// Every COM1 line pattern of the header (`expect`, `forbid`, `expect_ipiv`).
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        let expected = self.expect.iter().flat_map(|item| match item {
            Expectation::Line(pattern) => std::slice::from_ref(pattern),
            Expectation::AnyOrder(group) => group.as_slice(),
        });
        let per_mode = self
            .expect_ipiv
            .values()
            .chain(self.expect_timer_virt.values())
            .flatten();
        expected
            .chain(&self.forbid)
            .chain(per_mode)
            .map(String::as_str)
    }
}

fn default_verdict() -> Verdict {
    Verdict::Pass
}

fn default_ipiv() -> Vec<Ipiv> {
    vec![Ipiv::On]
}

fn default_timeout_s() -> u64 {
    300
}

/// Reads the header of the manifest text `source` (named `file` in errors).
pub fn parse(file: &str, source: &str) -> Result<Header, String> {
    let mut text = String::new();
    let mut file_lines = Vec::new();
    for (number, line) in source.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix(PREFIX) {
            text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            text.push('\n');
            file_lines.push(number + 1);
        }
    }
    if file_lines.is_empty() {
        return Err(format!(
            "{file}: no scenario header: add `#@ expect = [\"<COM1 line pattern>\", ...]` lines"
        ));
    }
    let header: Header = toml::from_str(&text).map_err(|e| {
        let header_line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count());
        let line = file_lines
            .get(header_line)
            .or(file_lines.last())
            .copied()
            .unwrap_or(1);
        format!("{file}:{line}: scenario header: {}", e.message())
    })?;
    if header.expect.is_empty() || header.ipiv.is_empty() || header.timer_virt.is_empty() {
        return Err(format!(
            "{file}: scenario header: `expect`, `ipiv` and `timer_virt` must not be empty (found expect = {:?}, ipiv = {:?}, timer_virt = {:?})",
            header.expect, header.ipiv, header.timer_virt
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_read_and_defaults_filled() {
        let source = "# A scenario.\n#@ expect = [\"alpha: ... pass\"]\nboard = \"emulator\"\n#@ forbid = [\"panic\"]\n";
        let header = parse("s.toml", source).unwrap();
        assert_eq!(header.expect, [Expectation::Line("alpha: ... pass".into())]);
        assert_eq!(header.forbid, ["panic"]);
        assert_eq!(header.ipiv, [Ipiv::On]);
        assert_eq!(header.timeout_s, 300);
        assert_eq!(header.verdict, Verdict::Pass);
        let failing = parse("s.toml", "#@ expect = [\"a\"]\n#@ verdict = \"fail\"\n").unwrap();
        assert_eq!(failing.verdict, Verdict::Fail);
    }

    #[test]
    fn multi_line_values_and_both_ipiv_modes() {
        let source = "#@ ipiv = [\"on\", \"off\"]\n#@ expect = [\n#@   \"a\",\n#@   \"b\",\n#@ ]\n#@ summary = { mode = \"x\" }\n";
        let header = parse("s.toml", source).unwrap();
        assert_eq!(header.ipiv, [Ipiv::On, Ipiv::Off]);
        let lines = ["a", "b"].map(|s| Expectation::Line(s.into()));
        assert_eq!(header.expect, lines);
        assert_eq!(header.summary["mode"], "x");
    }

    #[test]
    fn per_mode_expectations_are_read_by_mode() {
        let source = "#@ expect = [\"a\"]\n#@ expect_ipiv.on = [\n#@   \"x=0 \",\n#@ ]\n#@ expect_ipiv.off = [\"x=9 \"]\n";
        let header = parse("s.toml", source).unwrap();
        assert_eq!(header.expect_ipiv[&Ipiv::On], ["x=0 "]);
        assert_eq!(header.expect_ipiv[&Ipiv::Off], ["x=9 "]);
        let wrong = parse("s.toml", "#@ expect = [\"a\"]\n#@ expect_ipiv.maybe = []\n");
        assert!(wrong.is_err(), "only on and off are modes");
    }

    #[test]
    fn timer_virt_modes_and_their_expectations() {
        let source = "#@ expect = [\"a\"]\n#@ timer_virt = [\"on\", \"off\"]\n#@ expect_timer_virt.off = [\"t=trapped \"]\n";
        let header = parse("s.toml", source).unwrap();
        assert_eq!(header.timer_virt, [Ipiv::On, Ipiv::Off]);
        assert_eq!(header.expect_timer_virt[&Ipiv::Off], ["t=trapped "]);
        assert!(header.patterns().any(|p| p == "t=trapped "));
        let default = parse("s.toml", "#@ expect = [\"a\"]\n").unwrap();
        assert_eq!(default.timer_virt, [Ipiv::On]);
        assert!(parse("s.toml", "#@ expect = [\"a\"]\n#@ timer_virt = []\n").is_err());
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let source = "board = \"emulator\"\n#@ expect = [\"a\"]\n#@ timeout = 5\n";
        let error = parse("tests/scenarios/s.toml", source).unwrap_err();
        assert!(error.starts_with("tests/scenarios/s.toml:3:"), "{error}");
        assert!(error.contains("timeout"), "{error}");
    }

    #[test]
    fn a_manifest_without_a_header_or_expectations_is_refused() {
        let missing = parse("s.toml", "board = \"emulator\"\n").unwrap_err();
        assert!(missing.contains("no scenario header"), "{missing}");
        let empty = parse("s.toml", "#@ expect = []\n").unwrap_err();
        assert!(empty.contains("must not be empty"), "{empty}");
    }
}
