//! `channel-fanout`: `fan-writer` streams to three readers of different speeds over one channel
//! with the drop-oldest policy: `fast-a` takes each message at once, `fast-b` spends 2,000 cycles
//! on each, `slow` 400,000 (longer than the writer's patience). The writer waits for a lagging reader at most `PATIENCE_CYCLES`, then
//! leaves it behind until it catches up: the fast readers lose nothing, the slow one counts what
//! it lost, and the writer's worst single send stays near the patience.

use crate::lookup::PATIENCE_CYCLES as HANG_GUARD_CYCLES;
use crate::payload;
use crate::ratio::Ratio;
use tessera_guest::channel::{FullPolicy, Ipi, Reader, Writer, MAX_PAYLOAD_BYTES};
use tessera_guest::{cpu, fail, println, time, BootInfo, TestResult};

/// Messages sent.
const MESSAGES: u64 = 3_000;
/// How long the writer waits for a reader that frees no slot.
const PATIENCE_CYCLES: u64 = 100_000;
/// Per-message work above which a reader expects to be left behind.
const SLOW_CYCLES: u64 = 100_000;

pub fn write(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "fan")?;
    let policy = FullPolicy::DropOldestAfter {
        patience_cycles: PATIENCE_CYCLES,
    };
    let mut w = Writer::new(ch, cpu::channel_words(ch), policy, Ipi);
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let (start, mut worst) = (cpu::rdtsc(), 0);
    for n in 0..MESSAGES {
        let t = cpu::rdtsc();
        w.send(payload::fill(n, &mut buf));
        worst = worst.max(cpu::rdtsc() - t);
    }
    w.close();
    let cycles = cpu::rdtsc() - start;
    let readers = usize::from(ch.reader_count);
    let done = |w: &Writer<Ipi>| (0..readers).all(|r| w.reader_progress(r).0 == MESSAGES);
    if !time::wait_until(HANG_GUARD_CYCLES, || done(&w)) {
        return fail!("readers did not all reach the end");
    }
    // The writer counts a message as overwritten when the reader's acknowledgement still says
    // unread; a reader may finish reading it just before its slot is refilled, so a reader's
    // losses are at most the writer's count, and none at all for a reader never left behind.
    for r in 0..readers {
        let (_, lost, corrupt) = w.reader_progress(r);
        let overwritten = w.stats.overwritten[r];
        if lost > overwritten || (overwritten == 0) != (lost == 0) || corrupt != 0 {
            return fail!("reader {r} counted {lost} lost and {corrupt} corrupt; the writer overwrote {overwritten} of its messages");
        }
    }
    let o = w.stats.overwritten;
    println!(
        "SUMMARY channel=fan side=writer messages={} policy=drop-oldest patience_cycles={PATIENCE_CYCLES} overwritten=fast-a:{},fast-b:{},slow:{} worst_send_cycles={worst} doorbells={} cycles={cycles} messages_per_mcycle={}",
        w.stats.messages, o[0], o[1], o[2], w.stats.doorbells, Ratio(w.stats.messages * 1_000_000, cycles)
    );
    Ok(())
}

pub fn read(info: &BootInfo, delay_cycles: u64) -> TestResult {
    let ch = crate::lookup::channel(info, "fan")?;
    let mut r = Reader::new(ch, cpu::channel_words(ch), Ipi);
    if !time::wait_until(HANG_GUARD_CYCLES, || r.ready() == Ok(true)) {
        return fail!("the writer never set the ring up");
    }
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let start = cpu::rdtsc();
    while !r.finished() {
        match r.receive(&mut buf) {
            Ok(Some(m)) if !payload::matches(m.seq, &buf[..m.bytes]) => {
                return fail!("message {} is not what was sent", m.seq)
            }
            Ok(Some(_)) => time::delay(delay_cycles),
            Ok(None) => r.wait(),
            Err(e) => return fail!("the writer broke the ring: {e:?}"),
        }
    }
    let s = r.stats;
    let slow = delay_cycles >= SLOW_CYCLES;
    if s.messages + s.lost != MESSAGES || (slow && s.lost == 0) || (!slow && s.lost != 0) {
        return fail!(
            "{} messages and {} lost of {MESSAGES} (work {delay_cycles} cycles each)",
            s.messages,
            s.lost
        );
    }
    println!(
        "SUMMARY channel=fan side=reader name={} work_cycles={delay_cycles} messages={} lost={} halts={} cycles={}",
        info.name(), s.messages, s.lost, s.halts, cpu::rdtsc() - start
    );
    Ok(())
}
