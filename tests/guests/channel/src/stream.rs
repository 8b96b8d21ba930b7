//! `channel-stream`: 100,000 messages of mixed sizes from `stream-writer` to `stream-reader`
//! over one channel; the reader checks every byte and sequence number and halts when the ring is
//! empty. Each side prints its messages, bytes, doorbells (or credits), exits per message,
//! emulated cycles per message and messages per million cycles. A doorbell or credit costs its
//! sender no exit only over an exitless channel with IPIv; a trapped one costs one either way.

use crate::ipiv;
use crate::payload;
use crate::ratio::Ratio;
use tessera_guest::channel::{FullPolicy, Ipi, Reader, Writer, MAX_PAYLOAD_BYTES};
use tessera_guest::exits::{Exits, Meter};
use tessera_guest::{cpu, fail, println, time, BootInfo, Failure, TestResult};

/// Messages in the stream.
pub const MESSAGES: u64 = 100_000;
use crate::lookup::PATIENCE_CYCLES;

pub fn write(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "stream")?;
    let ipiv = ipiv::on()?;
    let exitless = ipiv && ch.trapped == 0;
    let mut w = Writer::new(ch, cpu::channel_words(ch), FullPolicy::Block, Ipi);
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let meter = Meter::start()?;
    let start = cpu::rdtsc();
    for n in 0..MESSAGES {
        w.send(payload::fill(n, &mut buf));
    }
    w.close();
    let cycles = cpu::rdtsc() - start;
    let exits = meter.stop()?;
    if !time::wait_until(PATIENCE_CYCLES, || w.reader_progress(0).0 == MESSAGES) {
        return fail!(
            "the reader acknowledged {} of {MESSAGES}",
            w.reader_progress(0).0
        );
    }
    let s = w.stats;
    if exits.total() != exits.sends() || exits.sends() != if exitless { 0 } else { s.doorbells } {
        return fail!(
            "writer exits {} ({} sends) for {} {} doorbells with IPIv {}",
            exits.total(),
            exits.sends(),
            s.doorbells,
            doorbell_name(ch.trapped),
            ipiv::name(ipiv)
        );
    }
    println!(
        "SUMMARY channel=stream side=writer ipiv={} messages={} bytes={} doorbells={} full={} halts={} exits={} exits_per_message={}",
        ipiv::name(ipiv), s.messages, s.bytes, s.doorbells, s.full, s.halts, exits.total(), Ratio(exits.total(), s.messages)
    );
    rates("writer", ch.trapped, cycles, s.messages);
    Ok(())
}

pub fn read(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "stream")?;
    let ipiv = ipiv::on()?;
    let mut r = Reader::new(ch, cpu::channel_words(ch), Ipi);
    if !time::wait_until(PATIENCE_CYCLES, || r.ready() == Ok(true)) {
        return fail!("the writer never set the ring up: {:?}", r.ready());
    }
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let meter = Meter::start()?;
    let start = cpu::rdtsc();
    while !r.finished() {
        match r.receive(&mut buf) {
            Ok(Some(m)) if !payload::matches(m.seq, &buf[..m.bytes]) => {
                return fail!("message {} ({} bytes) is not what was sent", m.seq, m.bytes)
            }
            Ok(Some(_)) => {}
            Ok(None) => r.wait(),
            Err(e) => return fail!("the writer broke the ring: {e:?}"),
        }
    }
    let cycles = cpu::rdtsc() - start;
    let exits = meter.stop()?;
    let s = r.stats;
    check(&s, &exits, ipiv && ch.trapped == 0)?;
    println!(
        "SUMMARY channel=stream side=reader ipiv={} messages={} bytes={} lost={} corrupt={} halts={} credits={} exits={} exits_per_message={}",
        ipiv::name(ipiv), s.messages, s.bytes, s.lost, s.corrupt, s.halts, s.credits, exits.total(), Ratio(exits.total(), s.messages)
    );
    rates("reader", ch.trapped, cycles, s.messages);
    Ok(())
}

/// The side's emulated cycles from its first message to the end of the stream (this vCPU's TSC).
fn rates(side: &str, trapped: u8, cycles: u64, messages: u64) {
    println!(
        "SUMMARY channel=stream side={side} doorbell={} rates cycles={cycles} cycles_per_message={} messages_per_mcycle={}",
        doorbell_name(trapped),
        cycles / messages.max(1),
        Ratio(messages * 1_000_000, cycles)
    );
}

/// `exitless` / `trapped`, from the boot info's `trapped` byte.
fn doorbell_name(trapped: u8) -> &'static str {
    if trapped == 0 {
        "exitless"
    } else {
        "trapped"
    }
}

/// `exitless`: credits cost no exit (an exitless channel with IPIv).
fn check(
    s: &tessera_guest::channel::ReaderStats,
    exits: &Exits,
    exitless: bool,
) -> Result<(), Failure> {
    if s.messages != MESSAGES || s.lost != 0 || s.corrupt != 0 {
        return fail!(
            "{} messages, {} lost, {} corrupt",
            s.messages,
            s.lost,
            s.corrupt
        );
    }
    let sends = if exitless { 0 } else { s.credits };
    if exits.sends() != sends || exits.total() != sends {
        return fail!(
            "reader exits {} ({} sends) for {} credits (no exit expected: {exitless})",
            exits.total(),
            exits.sends(),
            s.credits
        );
    }
    Ok(())
}
