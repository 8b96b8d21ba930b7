//! `channel-hostile` and `channel-stranger`: sides that break a channel's rules next to sides
//! that measure what they see.
//! - `h-writer` sends good messages, then corrupts the ring: `head` backwards and far ahead, a
//!   message with a bad checksum, one with another sequence number, one too long, one published
//!   but never completed; then good messages again. Each careful reader must detect all six,
//!   report them, and read every good message.
//! - `h-reader` vCPU 1 writes to the ring its partition maps read-only: the hypervisor stops it;
//!   its vCPU 0 and the other reader (`h-witness`) go on reading, the writer goes on writing.
//! - `stranger` vCPU 1 (a partition without the channel) reads the channel's host-physical
//!   address: the hypervisor stops it; its vCPU 0 works on and checks it never came back.

use crate::lookup::PATIENCE_CYCLES;
use crate::payload;
use crate::ratio::Ratio;
use core::sync::atomic::{AtomicBool, Ordering};
use tessera_guest::channel::{Corruption, FullPolicy, Ipi, Reader, Writer, MAX_PAYLOAD_BYTES};
use tessera_guest::{cpu, fail, println, time, BootInfo, TestResult};

/// Good messages before and after the corruption.
const GOOD_EACH: u64 = 100;
/// Corruptions the careful readers must detect.
const CORRUPTIONS: u64 = 6;
/// Host-physical address of the stranger scenario's channel (its manifest's `host_base`).
const STRANGER_TARGET: u64 = 0x700_0000;

/// Set by an attacking vCPU that came back from its attack (it must not).
static CAME_BACK: AtomicBool = AtomicBool::new(false);

pub fn corrupt(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "main")?;
    let mut w = Writer::new(ch, cpu::channel_words(ch), FullPolicy::Block, Ipi);
    let readers = usize::from(ch.reader_count);
    let hostile = info.name() == "h-writer";
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    for n in 0..GOOD_EACH {
        w.send(payload::fill(n, &mut buf));
    }
    let all_acked = |w: &Writer<Ipi>, n: u64| (0..readers).all(|r| w.reader_progress(r).0 >= n);
    if !time::wait_until(PATIENCE_CYCLES, || all_acked(&w, GOOD_EACH)) {
        return fail!("the readers did not read the first {GOOD_EACH} messages");
    }
    let mut next = GOOD_EACH;
    if hostile {
        let detected = |w: &Writer<Ipi>, k: u64| (0..readers).all(|r| w.reader_progress(r).2 >= k);
        for (k, head) in [(1, GOOD_EACH / 2), (2, u64::MAX / 2)] {
            w.corrupt_head(head);
            let seen = time::wait_until(PATIENCE_CYCLES, || detected(&w, k));
            w.restore_head();
            if !seen {
                return fail!("no reader reported head = {head:#x}");
            }
        }
        let kinds = [
            Corruption::Checksum,
            Corruption::Sequence,
            Corruption::Length,
            Corruption::Unwritten,
        ];
        for how in kinds {
            w.send_corrupted(payload::fill(next, &mut buf), how);
            next += 1;
        }
    }
    let end = next + GOOD_EACH;
    for n in next..end {
        w.send(payload::fill(n, &mut buf));
    }
    w.close();
    if !time::wait_until(PATIENCE_CYCLES, || all_acked(&w, end)) {
        return fail!("the readers did not reach message {end}");
    }
    let corrupt: heapless::Vec<u64, 4> = (0..readers).map(|r| w.reader_progress(r).2).collect();
    let want = if hostile { CORRUPTIONS } else { 0 };
    if corrupt.iter().any(|&c| c != want) {
        return fail!(
            "readers counted {:?} corruptions, {want} each expected",
            corrupt.as_slice()
        );
    }
    println!("SUMMARY channel=main side=writer messages={end} corruptions={} readers={readers} detected_by_each={want} doorbells={}", want, w.stats.doorbells);
    Ok(())
}

pub fn read(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "main")?;
    let mut r = Reader::new(ch, cpu::channel_words(ch), Ipi);
    if !time::wait_until(PATIENCE_CYCLES, || r.ready() == Ok(true)) {
        return fail!("the writer never set the ring up");
    }
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    while !r.finished() {
        match r.receive(&mut buf) {
            Ok(Some(m)) if !payload::matches(m.seq, &buf[..m.bytes]) => {
                return fail!("message {} is not what was sent", m.seq)
            }
            Ok(Some(_)) => {}
            Ok(None) => r.wait(),
            Err(e) => println!("detected: {e:?}; skipped, reading on"),
        }
    }
    let s = r.stats;
    let hostile = info.name().starts_with("h-");
    let want = if hostile {
        (2 * GOOD_EACH, CORRUPTIONS)
    } else {
        (2 * GOOD_EACH, 0)
    };
    if (s.messages, s.corrupt) != want || s.lost != 0 {
        return fail!(
            "{} messages, {} corrupt, {} lost; {want:?} expected",
            s.messages,
            s.corrupt,
            s.lost
        );
    }
    if info.vcpu_count > 1 && CAME_BACK.load(Ordering::Acquire) {
        return fail!("vCPU 1 came back from writing to the read-only ring");
    }
    println!("SUMMARY channel=main side=reader name={} messages={} corrupt={} lost={} halts={} bytes={} bytes_per_message={}", info.name(), s.messages, s.corrupt, s.lost, s.halts, s.bytes, Ratio(s.bytes, s.messages));
    Ok(())
}

/// `h-reader` vCPU 1: writes the ring's `head` word, which its partition maps read-only.
pub fn scribble(info: &BootInfo) -> TestResult {
    let ch = crate::lookup::channel(info, "main")?;
    let (ring, _) = cpu::channel_words(ch);
    time::delay(2_000_000);
    println!(
        "writing head of the read-only ring at {:#x}",
        ch.guest_base + 16
    );
    ring[2].store(u64::MAX, Ordering::SeqCst);
    CAME_BACK.store(true, Ordering::Release);
    fail!("the write to the read-only ring went through")
}

/// `stranger` vCPU 1: reads the channel's host-physical address, which it does not map.
pub fn reach(info: &BootInfo) -> TestResult {
    time::delay(2_000_000);
    println!("reading host-physical {STRANGER_TARGET:#x} (the ring of a channel this partition is not in)");
    if let Err(e) = tessera_guest::paging::map_block(info, STRANGER_TARGET) {
        return fail!("cannot map {STRANGER_TARGET:#x} in the guest page tables: {e:?}");
    }
    let value = cpu::read_outside(info, STRANGER_TARGET);
    CAME_BACK.store(true, Ordering::Release);
    fail!("read {value:#x} from another partitions' channel")
}

/// `stranger` vCPU 0: works on its own memory while vCPU 1 attacks, then checks it stayed stopped.
pub fn stand_by(_: &BootInfo) -> TestResult {
    let mut sum = 0u64;
    let start = cpu::rdtsc();
    while cpu::rdtsc() - start < 200_000_000 {
        sum = sum.wrapping_mul(31).wrapping_add(cpu::rdtsc());
    }
    if CAME_BACK.load(Ordering::Acquire) {
        return fail!("vCPU 1 came back from reaching into a channel");
    }
    println!(
        "SUMMARY channel=none side=stranger work_done=1 checksum={:#x}",
        sum & 0xFF
    );
    Ok(())
}
