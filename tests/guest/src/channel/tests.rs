//! The ring on the host: one thread plays writer and readers in turns.

use super::*;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_vmx::guest_abi::{BootChannel, ChannelRole};

/// Counts what would have been IPIs and halts; time advances one cycle per call.
#[derive(Default)]
struct Count {
    raised: u64,
    halts: u64,
    now: u64,
}

impl Signal for &mut Count {
    fn raise(&mut self, _: u32, _: u8) {
        self.raised += 1;
    }
    fn halt(&mut self) {
        self.halts += 1;
    }
    fn now(&mut self) -> u64 {
        self.now += 1;
        self.now
    }
}

fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

fn channel(readers: u8, role: ChannelRole) -> BootChannel {
    BootChannel {
        ring_bytes: 4096,
        reader_count: readers,
        role: role as u8,
        doorbell_vector: 0x40,
        credit_vector: 0x41,
        ..BootChannel::EMPTY
    }
}

fn payload(n: u64) -> Vec<u8> {
    (0..(n % MAX_PAYLOAD_BYTES as u64 + 1))
        .map(|i| (n + i) as u8)
        .collect()
}

#[test]
fn messages_arrive_in_order_with_their_bytes() {
    let (ring, acks) = (words(512), words(512));
    let (mut ws, mut rs) = (Count::default(), Count::default());
    let mut w = Writer::new(
        &channel(1, ChannelRole::Writer),
        (&ring, &acks),
        FullPolicy::Block,
        &mut ws,
    );
    let mut r = Reader::new(
        &channel(1, ChannelRole::Reader),
        (&ring, &acks[..512]),
        &mut rs,
    );
    assert_eq!(slots(512), 15);
    assert_eq!(r.ready(), Ok(true));
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    for n in 0..100u64 {
        w.send(&payload(n));
        let got = r.receive(&mut buf).unwrap().unwrap();
        assert_eq!(got.seq, n);
        assert_eq!(&buf[..got.bytes], &payload(n)[..]);
        assert_eq!(r.receive(&mut buf), Ok(None));
    }
    assert_eq!(w.stats.doorbells, 0, "no reader waited");
    assert_eq!(r.stats.messages, 100);
}

#[test]
fn a_waiting_reader_gets_one_doorbell_per_publication_and_a_batch_rings_once() {
    let (ring, acks) = (words(512), words(512));
    let (mut ws, mut rs) = (Count::default(), Count::default());
    let mut w = Writer::new(
        &channel(1, ChannelRole::Writer),
        (&ring, &acks),
        FullPolicy::Block,
        &mut ws,
    );
    let mut r = Reader::new(
        &channel(1, ChannelRole::Reader),
        (&ring, &acks[..512]),
        &mut rs,
    );
    acks[A_WAITING].store(1, Ordering::Relaxed);
    let msgs: Vec<Vec<u8>> = (0..5).map(payload).collect();
    w.send_batch(msgs.iter().map(Vec::as_slice));
    assert_eq!(w.stats.doorbells, 1);
    r.wait();
    assert_eq!(r.stats.halts, 0, "messages are there: no halt");
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    for n in 0..5 {
        assert_eq!(r.receive(&mut buf).unwrap().unwrap().seq, n);
    }
    r.wait();
    assert_eq!(r.stats.halts, 1, "empty: halts");
}

#[test]
fn drop_oldest_overwrites_for_a_lagging_reader_who_counts_the_loss() {
    let (ring, acks) = (words(512), words(1024));
    let (mut ws, mut rs) = (Count::default(), Count::default());
    let policy = FullPolicy::DropOldestAfter { patience_cycles: 3 };
    let mut w = Writer::new(
        &channel(2, ChannelRole::Writer),
        (&ring, &acks),
        policy,
        &mut ws,
    );
    let mut r = Reader::new(
        &channel(2, ChannelRole::Reader),
        (&ring, &acks[512..]),
        &mut rs,
    );
    for n in 0..40 {
        w.send(&payload(n));
    }
    assert_eq!(w.stats.overwritten[1], 25);
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    let first = r.receive(&mut buf).unwrap().unwrap();
    assert_eq!(first.seq, 25, "the 15 newest remain");
    assert_eq!(r.stats.lost, 25);
    w.close();
    while r.receive(&mut buf).unwrap().is_some() {}
    assert!(r.finished());
    assert_eq!(r.stats.messages, 15);
}

#[test]
fn a_corrupting_writer_is_detected_and_the_reader_goes_on() {
    let (ring, acks) = (words(512), words(512));
    let (mut ws, mut rs) = (Count::default(), Count::default());
    let mut w = Writer::new(
        &channel(1, ChannelRole::Writer),
        (&ring, &acks),
        FullPolicy::Block,
        &mut ws,
    );
    let mut r = Reader::new(
        &channel(1, ChannelRole::Reader),
        (&ring, &acks[..512]),
        &mut rs,
    );
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    w.send(b"one");
    assert!(r.receive(&mut buf).unwrap().is_some());
    ring[H_HEAD].store(0, Ordering::Relaxed);
    assert_eq!(
        r.receive(&mut buf),
        Err(RingError::HeadBackwards { was: 1, now: 0 })
    );
    assert_eq!(r.receive(&mut buf), Ok(None), "reported once");
    ring[H_HEAD].store(u64::MAX, Ordering::Relaxed);
    assert!(matches!(
        r.receive(&mut buf),
        Err(RingError::HeadImpossible { .. })
    ));
    ring[H_HEAD].store(1, Ordering::Relaxed);
    w.send(b"two");
    let slot = slot_word(1, 15);
    ring[slot + S_PAYLOAD].store(0xBAD, Ordering::Relaxed);
    assert_eq!(r.receive(&mut buf), Err(RingError::BadChecksum { seq: 1 }));
    w.send(b"three");
    ring[slot_word(2, 15) + S_SEQ].store(7, Ordering::Relaxed);
    assert_eq!(
        r.receive(&mut buf),
        Err(RingError::BadSequence { seq: 2, found: 7 })
    );
    ring[H_HEAD].store(4, Ordering::Relaxed);
    assert!(matches!(
        r.receive(&mut buf),
        Err(RingError::SlotNotWritten { seq: 3, .. })
    ));
    w.send(b"four");
    w.send(b"five");
    let got = r.receive(&mut buf).unwrap().unwrap();
    assert_eq!(
        (got.seq, &buf[..got.bytes]),
        (4, &b"five"[..]),
        "the next good message arrives"
    );
    assert_eq!(r.stats.corrupt, 5);
}
