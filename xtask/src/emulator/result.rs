//! Reads the serial result protocol: `TESSERA-RESULT: pass`, `TESSERA-RESULT: fail: <why>`,
//! and `SUMMARY key=value ...` measurement lines (pure; unit-tested).

/// What an image reported about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
}

const RESULT_PREFIX: &str = "TESSERA-RESULT:";

/// Parses one serial line; `None` if it is not a result line. Only the hypervisor's own lines
/// count: a guest's `[<partition>] TESSERA-RESULT: pass` is just console text.
pub fn parse_result_line(line: &str) -> Option<Verdict> {
    if !super::source::is_hypervisor(line) {
        return None;
    }
    let rest = line.trim().strip_prefix(RESULT_PREFIX)?.trim();
    if rest == "pass" {
        return Some(Verdict::Pass);
    }
    if let Some(why) = rest.strip_prefix("fail") {
        let why = why.trim_start_matches(':').trim();
        return Some(Verdict::Fail(why.to_string()));
    }
    Some(Verdict::Fail(format!(
        "unrecognised result line `{}`",
        line.trim()
    )))
}

/// Parses a `SUMMARY k=v k=v` line into its pairs; `None` if it is not a summary line. A guest's
/// summary, which the hypervisor prints as `[<partition>] SUMMARY k=v ...`, counts too.
pub fn parse_summary_line(line: &str) -> Option<Vec<(String, String)>> {
    let line = line.trim();
    let unprefixed = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .map_or(line, |(_, rest)| rest);
    let rest = unprefixed.strip_prefix("SUMMARY ")?;
    let pairs = rest
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(pairs)
}

/// Parses Bochs's once-a-second `IPS: <n>\taverage = <m> ...` line; returns the average.
pub fn parse_ips_line(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("IPS:")?;
    let average = rest.split("average =").nth(1)?;
    average.split_whitespace().next()?.parse().ok()
}

/// Removes ANSI escape sequences (`ESC [ ... final byte`), which GRUB's serial console emits.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[H\u{1b}[J\u{1b}[1;1H  Booting `tessera'"),
            "  Booting `tessera'"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn pass_and_fail_lines() {
        assert_eq!(
            parse_result_line("TESSERA-RESULT: pass"),
            Some(Verdict::Pass)
        );
        assert_eq!(
            parse_result_line("TESSERA-RESULT: pass\r"),
            Some(Verdict::Pass)
        );
        assert_eq!(
            parse_result_line("TESSERA-RESULT: fail: no IPI on cpu 2"),
            Some(Verdict::Fail("no IPI on cpu 2".into()))
        );
    }

    #[test]
    fn other_lines_are_not_results() {
        assert_eq!(parse_result_line("booting cpu 1"), None);
        assert_eq!(parse_result_line("[forger] TESSERA-RESULT: pass"), None);
        assert_eq!(parse_result_line("SUMMARY exits=0"), None);
    }

    #[test]
    fn garbled_result_is_a_failure() {
        assert!(matches!(
            parse_result_line("TESSERA-RESULT: maybe"),
            Some(Verdict::Fail(_))
        ));
    }

    #[test]
    fn summary_pairs() {
        let pairs = parse_summary_line("SUMMARY case=ipiv exits=0 cycles=1234").unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[1], ("exits".to_string(), "0".to_string()));
        assert_eq!(parse_summary_line("SUMMARYexits=0"), None);
    }

    #[test]
    fn guest_summaries_behind_the_partition_prefix() {
        let pairs = parse_summary_line("[ping-poll] SUMMARY scenario=x sender_exits=0").unwrap();
        assert_eq!(pairs[1], ("sender_exits".to_string(), "0".to_string()));
        assert_eq!(parse_summary_line("[cpu0 INFO ] heap: used 1"), None);
        assert_eq!(parse_summary_line("[p] text SUMMARY a=1"), None);
    }

    #[test]
    fn ips_average() {
        assert_eq!(
            parse_ips_line("IPS: 41234567\taverage = 40000000\t\t(3s)"),
            Some(40_000_000)
        );
        assert_eq!(parse_ips_line("ips = 3.0M"), None);
    }
}
