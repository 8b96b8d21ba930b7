//! Reading a serial log (from the emulator or captured on hardware) into record streams, one per
//! vCPU (`[partition]` prefix + `v=`), each checked whole: every record's checksum, sequence
//! numbers without gap, repeat or reversal, and an `E` record whose count closes the stream. Any
//! fault is an error naming the file and line; nothing is dropped silently. The hypervisor's own
//! lines (banner, per-vCPU exit summary) are read too: a guest's lines always carry a
//! `[partition]` prefix, so they can never pass for them.

use std::collections::BTreeMap;
use tessera_latency_record::decode::{parse_line, Record};

/// A record and the log line it came from (1-based).
#[derive(Clone, Debug)]
pub struct Line {
    pub number: usize,
    pub record: Record,
}

/// The stream of one vCPU: (partition, vCPU index).
pub type StreamKey = (String, u32);

/// What the hypervisor itself printed about a vCPU at the end: its exits by short reason name.
pub type HypervisorExits = BTreeMap<String, u64>;

/// A log, read and checked.
#[derive(Debug, Default)]
pub struct Log {
    pub streams: BTreeMap<StreamKey, Vec<Line>>,
    /// From the hypervisor's banner, if present.
    pub image_version: Option<String>,
    /// Per vCPU, from the hypervisor's closing summary, if present.
    pub hypervisor_exits: BTreeMap<StreamKey, HypervisorExits>,
}

/// Reads `text` (named `file` in errors).
pub fn read(file: &str, text: &str) -> Result<Log, String> {
    let mut log = Log::default();
    let mut first_seen: BTreeMap<(StreamKey, u32), (usize, String)> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let at = |why: String| format!("{file}:{number}: {why}");
        let raw = raw.trim_end_matches('\r');
        read_hypervisor_line(&mut log, raw);
        let Some(record) = parse_line(raw).map_err(|e| at(e.to_string()))? else {
            continue;
        };
        let Some(partition) = record.partition.clone() else {
            return Err(at(
                "record without the hypervisor's `[partition]` prefix".into()
            ));
        };
        let key = (partition, record.vcpu);
        let seq = record.seq;
        if let Some((line, text)) = first_seen.get(&(key.clone(), seq)) {
            let what = if text == raw {
                "duplicated"
            } else {
                "conflicting"
            };
            return Err(at(format!(
                "{what} record {} of {} (first on line {line})",
                seq,
                stream_name(&key)
            )));
        }
        first_seen.insert((key.clone(), seq), (number, raw.to_string()));
        let stream = log.streams.entry(key.clone()).or_default();
        let expected = stream.len() as u32;
        if seq != expected {
            let why = if seq < expected {
                format!(
                    "record {seq} of {} comes after record {} (out of order)",
                    stream_name(&key),
                    expected - 1
                )
            } else {
                format!(
                    "record {seq} of {} where {expected} was due: records {expected}..{} are missing",
                    stream_name(&key),
                    seq - 1
                )
            };
            return Err(at(why));
        }
        if stream.last().is_some_and(|l| l.record.kind == 'E') {
            return Err(at(format!(
                "record after the end record of {}",
                stream_name(&key)
            )));
        }
        stream.push(Line { number, record });
    }
    check_ends(file, &log)?;
    if log.streams.is_empty() {
        return Err(format!(
            "{file}: no latency records (lines starting `TLR1` after a `[partition]` prefix)"
        ));
    }
    Ok(log)
}

/// `alpha vcpu 0`.
pub fn stream_name(key: &StreamKey) -> String {
    format!("{} vcpu {}", key.0, key.1)
}

/// Every stream must close with an `E` record that counts it.
fn check_ends(file: &str, log: &Log) -> Result<(), String> {
    for (key, lines) in &log.streams {
        let last = lines.last().expect("a stream has a record");
        if last.record.kind != 'E' {
            return Err(format!(
                "{file}:{}: the log ends without the end record of {} (truncated after its record {})",
                last.number,
                stream_name(key),
                last.record.seq
            ));
        }
        let counted = last
            .record
            .number("records")
            .map_err(|e| format!("{file}:{}: {e}", last.number))?;
        if counted != lines.len() as u64 {
            return Err(format!(
                "{file}:{}: the end record of {} counts {counted} records, the log holds {}",
                last.number,
                stream_name(key),
                lines.len()
            ));
        }
    }
    Ok(())
}

/// The banner (`... Tessera <version>: board ...`) and the closing per-vCPU lines
/// (`partition <p> vcpu <v>: <end>, ..., exits: <reason>=<n> ... total=<n>`), which only the
/// hypervisor prints without a `[partition] ` prefix.
fn read_hypervisor_line(log: &mut Log, line: &str) {
    if let Some(version) = banner_version(line) {
        log.image_version = Some(version.to_string());
        return;
    }
    let Some(rest) = line.strip_prefix("partition ") else {
        return;
    };
    let Some((who, tail)) = rest.split_once(": ") else {
        return;
    };
    let Some((partition, vcpu)) = who.split_once(" vcpu ") else {
        return;
    };
    let (Ok(vcpu), Some((_, exits))) = (vcpu.parse::<u32>(), tail.rsplit_once("exits:")) else {
        return;
    };
    let counts = exits
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect();
    log.hypervisor_exits
        .insert((partition.to_string(), vcpu), counts);
}

/// The version in the hypervisor's banner `Tessera <version>: board ...`, printed bare or behind
/// its log prefix `[cpu<n> INFO ] ` (a guest's lines always start with `[<partition>] `).
fn banner_version(line: &str) -> Option<&str> {
    let rest = match line.strip_prefix("[cpu") {
        Some(rest) => {
            let (cpu, rest) = rest.split_once(' ')?;
            if !cpu.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            rest.trim_start().strip_prefix("INFO ] ")?
        }
        None => line,
    };
    Some(rest.strip_prefix("Tessera ")?.split_once(": board ")?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_latency_record::RecordLine;

    fn record(vcpu: u32, seq: u32, kind: char, fields: &[(&str, &str)]) -> String {
        let mut line = RecordLine::new(vcpu, seq, kind);
        for (k, v) in fields {
            line.field(k, v).unwrap();
        }
        format!("[alpha] {}", line.finish())
    }

    fn good() -> Vec<String> {
        vec![
            "Tessera 0.1.0+abc: board emulator, 1 partition(s)".into(),
            record(0, 0, 'S', &[("ipiv", "on")]),
            "[alpha] vcpu 0: some other line".into(),
            record(0, 1, 'B', &[("p", "0")]),
            record(0, 2, 'E', &[("records", "3"), ("x", "18:4")]),
            "partition alpha vcpu 0: stopped itself with status 0, host stack 1 of 2 bytes, exits: vmcall=9 total=9".into(),
        ]
    }

    #[test]
    fn a_whole_log_reads_with_the_hypervisor_lines() {
        let log = read("log", &good().join("\n")).unwrap();
        assert_eq!(log.streams[&("alpha".into(), 0)].len(), 3);
        assert_eq!(log.image_version.as_deref(), Some("0.1.0+abc"));
        assert_eq!(log.hypervisor_exits[&("alpha".into(), 0)]["vmcall"], 9);
    }

    #[test]
    fn a_truncated_log_names_the_stream_and_line() {
        let lines = good();
        let error = read("log", &lines[..4].join("\n")).unwrap_err();
        assert_eq!(
            error,
            "log:4: the log ends without the end record of alpha vcpu 0 (truncated after its record 1)"
        );
        let cut = format!("{}\n{}", lines[..3].join("\n"), &lines[3][..30]);
        let error = read("log", &cut).unwrap_err();
        assert!(
            error.starts_with("log:4: record has no ` *<crc32>`"),
            "{error}"
        );
    }

    #[test]
    fn a_corrupted_record_is_refused_by_line() {
        let mut lines = good();
        lines[3] = lines[3].replace("p=0", "p=1");
        let error = read("log", &lines.join("\n")).unwrap_err();
        assert!(
            error.starts_with("log:4: record checksum mismatch"),
            "{error}"
        );
    }

    #[test]
    fn duplicated_and_reordered_records_are_refused() {
        let mut lines = good();
        lines.insert(4, lines[3].clone());
        let error = read("log", &lines.join("\n")).unwrap_err();
        assert_eq!(
            error,
            "log:5: duplicated record 1 of alpha vcpu 0 (first on line 4)"
        );
        let mut lines = good();
        lines.swap(3, 4);
        let error = read("log", &lines.join("\n")).unwrap_err();
        assert_eq!(
            error,
            "log:4: record 2 of alpha vcpu 0 where 1 was due: records 1..1 are missing"
        );
    }

    #[test]
    fn a_missing_record_is_a_gap() {
        let mut lines = good();
        lines.remove(3);
        let error = read("log", &lines.join("\n")).unwrap_err();
        assert!(error.contains("records 1..1 are missing"), "{error}");
    }

    #[test]
    fn a_guest_cannot_print_the_hypervisor_lines() {
        let mut lines = good();
        lines.push("[alpha] partition alpha vcpu 0: x, exits: vmcall=1 total=1".into());
        lines.push("[alpha] [cpu0 INFO ] Tessera forged: board emulator".into());
        let log = read("log", &lines.join("\n")).unwrap();
        assert_eq!(log.hypervisor_exits[&("alpha".into(), 0)]["vmcall"], 9);
        assert_eq!(log.image_version.as_deref(), Some("0.1.0+abc"));
    }
}
