//! Checking a scenario's COM1 log against its header. A pattern is text fragments separated by
//! ` ... `; a line matches when it contains the fragments in that order (`"[alpha] ... pass"`).
//! Every pattern names the source of the lines it may match (`emulator::source`): a pattern that
//! starts with `[<partition>] ` matches only that partition's guest lines (the fragments are looked
//! for in the text after the prefix), `[*] ` any guest's lines, and every other pattern only the
//! hypervisor's own lines, so a guest printing `TESSERA-RESULT: pass` or `stopped: partition ...`
//! satisfies nothing meant for the hypervisor.
//! `expect` items must match in order, each after the previous item; an item may be a group of
//! patterns that match in any order among themselves (for vCPUs running at once), the group ending
//! at its latest line. No line may match a `forbid` pattern.

use crate::emulator::source::{self, Source};
use serde::Deserialize;

/// One item of `expect`: a pattern, or a group of patterns in any order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Expectation {
    Line(String),
    AnyOrder(Vec<String>),
}

/// The lines a pattern may match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted<'a> {
    /// `[<partition>] ...`: that partition's guest lines.
    Partition(&'a str),
    /// `[*] ...`: any guest's lines.
    AnyGuest,
    /// Anything else: the hypervisor's own lines.
    Hypervisor,
}

/// Which lines `pattern` is for, and its fragments (after a guest prefix).
fn wanted(pattern: &str) -> (Wanted<'_>, &str) {
    if let Some(fragments) = pattern.strip_prefix("[*] ") {
        return (Wanted::AnyGuest, fragments);
    }
    match source::split(pattern) {
        (Source::Guest { partition }, rest) => {
            let fragments = rest.strip_prefix("... ").unwrap_or(rest);
            (Wanted::Partition(partition), fragments)
        }
        (Source::Hypervisor, _) => (Wanted::Hypervisor, pattern),
    }
}

/// The partition whose guest lines `pattern` is for (`None` for the hypervisor or any guest).
pub fn partition_of(pattern: &str) -> Option<&str> {
    match wanted(pattern).0 {
        Wanted::Partition(name) => Some(name),
        Wanted::AnyGuest | Wanted::Hypervisor => None,
    }
}

/// Whether `line` comes from the source `pattern` names and contains its fragments in order.
pub fn matches(pattern: &str, line: &str) -> bool {
    let (wanted, fragments) = wanted(pattern);
    let text = match (wanted, source::split(line)) {
        (Wanted::Hypervisor, (Source::Hypervisor, text)) => text,
        (Wanted::AnyGuest, (Source::Guest { .. }, text)) => text,
        (Wanted::Partition(name), (Source::Guest { partition }, text)) if name == partition => text,
        _ => return false,
    };
    contains_in_order(fragments, text)
}

/// Whether `line` contains the ` ... `-separated fragments of `fragments` in order.
fn contains_in_order(fragments: &str, line: &str) -> bool {
    let mut rest = line;
    for fragment in fragments.split(" ... ") {
        match rest.find(fragment) {
            Some(at) => rest = &rest[at + fragment.len()..],
            None => return false,
        }
    }
    true
}

/// Checks `serial`; the error names the first pattern not found where expected, or the first
/// forbidden line.
pub fn check(serial: &str, expect: &[Expectation], forbid: &[String]) -> Result<(), String> {
    let lines: Vec<&str> = serial.lines().collect();
    for line in &lines {
        if let Some(pattern) = forbid.iter().find(|p| matches(p, line)) {
            return Err(format!("COM1 line `{line}` matches forbidden `{pattern}`"));
        }
    }
    let mut next = 0;
    for item in expect {
        let patterns = match item {
            Expectation::Line(pattern) => std::slice::from_ref(pattern),
            Expectation::AnyOrder(group) => group.as_slice(),
        };
        let mut end = next;
        for pattern in patterns {
            end = end.max(find(&lines, next, pattern)? + 1);
        }
        next = end;
    }
    Ok(())
}

/// Index of the first line at or after `from` matching `pattern`.
fn find(lines: &[&str], from: usize, pattern: &str) -> Result<usize, String> {
    if let Some(offset) = lines[from..].iter().position(|line| matches(pattern, line)) {
        return Ok(from + offset);
    }
    if lines.iter().any(|line| matches(pattern, line)) {
        Err(format!(
            "expected `{pattern}` later on COM1 (it came too early)"
        ))
    } else {
        Err(format!("expected `{pattern}` on COM1, not found"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pattern: &str) -> Expectation {
        Expectation::Line(pattern.to_string())
    }

    fn group(patterns: &[&str]) -> Expectation {
        Expectation::AnyOrder(patterns.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn fragments_match_in_order() {
        assert!(matches("[alpha] vcpu ... 1: pass", "[alpha] vcpu 1: pass"));
        assert!(matches(
            "stopped: ... vcpu 2 ... EPT",
            "WARN stopped: partition m vcpu 2 rip 0x1: EPT violation"
        ));
        assert!(!matches("vcpu 2 ... stopped", "stopped vcpu 2"));
        assert!(!matches("beta:", "alpha: bet"));
    }

    #[test]
    fn a_pattern_matches_only_lines_of_its_source() {
        let forged = "[forger] stopped: partition m vcpu 2 rip 0x1: EPT violation";
        let real = "[cpu2 WARN ] stopped: partition m vcpu 2 rip 0x1: EPT violation";
        assert!(
            !matches("stopped: partition m vcpu 2", forged),
            "a guest forging the hypervisor"
        );
        assert!(matches("stopped: partition m vcpu 2", real));
        assert!(!matches(
            "TESSERA-RESULT: pass",
            "[forger] TESSERA-RESULT: pass"
        ));
        assert!(matches(
            "[forger] TESSERA-RESULT: pass",
            "[forger] TESSERA-RESULT: pass"
        ));
        assert!(!matches("[alpha] pass", "[beta] pass"), "another partition");
        assert!(!matches("[alpha] pass", "[cpu0 INFO ] [alpha] pass"));
        assert!(matches("[*] fail:", "[beta] vcpu 1: fail: lost"));
        assert!(!matches(
            "[*] fail:",
            "TESSERA-RESULT: fail: 1 partition(s)"
        ));
    }

    #[test]
    fn items_must_come_in_order() {
        let log = "[a] vcpu 0: pass\nstopped: partition m vcpu 1\n[b] vcpu 0: pass\n";
        let ordered = [line("stopped: ... m"), line("[b] ... pass")];
        assert_eq!(check(log, &ordered, &[]), Ok(()));
        let reversed = [line("[b] ... pass"), line("stopped: ... m")];
        let error = check(log, &reversed, &[]).unwrap_err();
        assert!(error.contains("too early"), "{error}");
        let absent = check(log, &[line("[c]")], &[]).unwrap_err();
        assert!(absent.contains("not found"), "{absent}");
    }

    #[test]
    fn a_group_matches_in_any_order_and_ends_at_its_latest_line() {
        let log = "[b] hello\n[a] hello\n[a] pass\n[b] pass\nRESULT\n";
        let items = [
            group(&["[a] hello", "[b] hello"]),
            group(&["[b] pass", "[a] pass"]),
        ];
        assert_eq!(check(log, &items, &[]), Ok(()));
        let after_group = [group(&["[a] pass", "[b] pass"]), line("[a] pass")];
        assert!(
            check(log, &after_group, &[]).is_err(),
            "the next item starts after the group"
        );
    }

    #[test]
    fn forbidden_lines_fail_the_check() {
        let log = "[a] vcpu 1: fail: not stopped\n";
        let error = check(log, &[line("[a] vcpu")], &["[*] fail:".to_string()]).unwrap_err();
        assert!(error.contains("forbidden"), "{error}");
        assert_eq!(
            check(log, &[line("[a] vcpu")], &["fail:".to_string()]),
            Ok(())
        );
    }

    #[test]
    fn groups_and_lines_read_from_toml() {
        #[derive(Deserialize)]
        struct T {
            expect: Vec<Expectation>,
        }
        let t: T = toml::from_str("expect = [[\"a\", \"b\"], \"c\"]").unwrap();
        assert_eq!(t.expect, [group(&["a", "b"]), line("c")]);
    }
}
