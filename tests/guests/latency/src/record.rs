//! This vCPU's record stream on the console (format in `tessera-latency-record`): `S` and `C`
//! at the start, per probe side `P` (the probe) and `R` (this side), then `B` (a batch's exits)
//! and `D` (its values) records, and `E` at the end with the exit counters as they stand.

use crate::probe::{self, Taken};
use tessera_guest::exits::ENTRIES;
use tessera_guest::hypercall::ExitCounters;
use tessera_guest::println;
use tessera_latency_record::plan::{Route, Settings};
use tessera_latency_record::{Named, RecordLine};

/// Numbers a vCPU's records.
pub struct Stream {
    vcpu: u32,
    seq: u32,
}

impl Stream {
    pub fn new(vcpu: u32) -> Stream {
        Stream { vcpu, seq: 0 }
    }

    /// A new record line of `kind`.
    pub fn line(&mut self, kind: char) -> RecordLine {
        let line = RecordLine::new(self.vcpu, self.seq, kind);
        self.seq += 1;
        line
    }

    /// Records written so far.
    pub fn count(&self) -> u32 {
        self.seq
    }
}

/// Prints a finished line.
pub fn print(mut line: RecordLine) {
    println!("{}", line.finish());
}

/// `name = value` that always fits a fresh line (short fixed keys and numbers).
fn put(line: &mut RecordLine, key: &str, value: impl core::fmt::Display) {
    let _ = line.field(key, value);
}

/// `S` and `C`: the run's conditions as this vCPU sees them; `paths` = (IPIv on, timer
/// virtualized).
pub fn start(
    stream: &mut Stream,
    paths: (bool, bool),
    tsc: &crate::cpuinfo::TscFrequency,
    settings: &Settings,
    brand: &str,
) {
    let on_off = |on: bool| if on { "on" } else { "off" };
    let mut line = stream.line('S');
    put(&mut line, "ipiv", on_off(paths.0));
    put(&mut line, "tmr", on_off(paths.1));
    put(&mut line, "tsc_hz", tsc.hz);
    put(&mut line, "tsc_src", tsc.source);
    put(&mut line, "n", settings.samples);
    put(&mut line, "warm", settings.warmup);
    put(&mut line, "gap", settings.gap_cycles);
    print(line);
    let mut line = stream.line('C');
    let _ = line.text_field("cpu", brand);
    print(line);
}

/// The path a probe's IPIs (or timer expiries) take.
pub fn path(
    probe: &tessera_latency_record::plan::Probe,
    ipiv: bool,
    timer_virtualized: bool,
) -> &'static str {
    if probe.family == tessera_latency_record::Family::TimerLateness {
        return if timer_virtualized {
            "timer-virt"
        } else {
            "timer-trapped"
        };
    }
    match (probe.route, ipiv) {
        (Route::Trapped, _) => "trapped",
        (_, true) => "ipiv",
        (_, false) => "posted",
    }
}

fn route_name(route: Route) -> &'static str {
    match route {
        Route::Intra => "intra",
        Route::Exitless => "exitless",
        Route::Trapped => "trapped",
    }
}

/// Every record of one side of a probe.
pub fn taken(stream: &mut Stream, taken: &Taken, settings: &Settings, paths: (bool, bool)) {
    let probe = &taken.probe;
    let mut line = stream.line('P');
    put(&mut line, "p", probe.id);
    put(&mut line, "fam", probe.family.name());
    put(&mut line, "path", path(probe, paths.0, paths.1));
    put(&mut line, "route", route_name(probe.route));
    put(&mut line, "wait", probe.wait.name());
    let _ = line.text_field("name", probe.name());
    print(line);
    let mut line = stream.line('R');
    put(&mut line, "p", probe.id);
    put(&mut line, "role", taken.role.name());
    put(&mut line, "n", settings.samples);
    put(&mut line, "warm", settings.warmup);
    put(&mut line, "batch", settings.batch);
    print(line);
    for batch in 0..probe::batches(settings) {
        batch_records(stream, taken, settings, batch);
    }
}

fn batch_records(stream: &mut Stream, taken: &Taken, settings: &Settings, batch: usize) {
    let size = settings.batch.max(1) as usize;
    let first = batch * size;
    let end = (first + size).min(settings.samples as usize);
    let mut line = stream.line('B');
    put(&mut line, "p", taken.probe.id);
    put(&mut line, "b", batch);
    put(&mut line, "n", end - first);
    let _ = line.field(
        "x",
        Exits(|reason| taken.windows.get(batch * ENTRIES + reason)),
    );
    print(line);
    if taken.role == tessera_latency_record::Role::Respond {
        return;
    }
    let mut at = first;
    while at < end {
        at = data_record(stream, taken, at, end);
    }
}

/// One `D` record of values from `first`; returns where the next one starts.
fn data_record(stream: &mut Stream, taken: &Taken, first: usize, end: usize) -> usize {
    let mut line = stream.line('D');
    put(&mut line, "p", taken.probe.id);
    put(&mut line, "i", first);
    let stamps = taken.role.carries_stamps();
    let mut values = Values::new();
    let mut at = first;
    while at < end {
        let value = match (stamps, at == first) {
            (true, false) => taken.values.get(at).wrapping_sub(taken.values.get(at - 1)),
            _ => taken.values.get(at),
        };
        if !values.push(value, line.room().saturating_sub(3)) {
            break;
        }
        at += 1;
    }
    let _ = line.field("v", values.as_str());
    print(line);
    at
}

/// `E`: how many records this stream holds (this one included) and the exit counters now.
pub fn end(stream: &mut Stream, counters: &ExitCounters) {
    let records = stream.count() + 1;
    let mut line = stream.line('E');
    put(&mut line, "records", records);
    let _ = line.field("x", Exits(|reason| counters[reason]));
    print(line);
}

/// `reason:count,...` of the non-zero entries, or `-`.
struct Exits<F: Fn(usize) -> u64>(F);

impl<F: Fn(usize) -> u64> core::fmt::Display for Exits<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut any = false;
        for reason in 0..ENTRIES {
            let count = (self.0)(reason);
            if count > 0 {
                write!(f, "{}{reason}:{count}", if any { "," } else { "" })?;
                any = true;
            }
        }
        if !any {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// Comma-separated numbers, as many as fit.
struct Values {
    text: [u8; 160],
    len: usize,
}

impl Values {
    fn new() -> Values {
        Values {
            text: [0; 160],
            len: 0,
        }
    }

    /// Appends `value` if the text stays within `limit` bytes.
    fn push(&mut self, value: u64, limit: usize) -> bool {
        let mut digits = [0u8; 20];
        let mut count = 0;
        let mut rest = value;
        loop {
            digits[count] = b'0' + (rest % 10) as u8;
            count += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let comma = usize::from(self.len > 0);
        if self.len + comma + count > limit.min(self.text.len()) {
            return false;
        }
        if comma == 1 {
            self.text[self.len] = b',';
            self.len += 1;
        }
        for digit in digits[..count].iter().rev() {
            self.text[self.len] = *digit;
            self.len += 1;
        }
        true
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }
}
