//! A reader's side of a channel ring (see the module rule in [`super`]).

use super::*;
use core::sync::atomic::{fence, AtomicU64, Ordering};
use tessera_vmx::guest_abi::BootChannel;

/// How far `head` may run ahead of a reader before it is taken for a corrupted index.
const MAX_AHEAD: u64 = 1 << 40;

/// The reader's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub messages: u64,
    pub bytes: u64,
    /// Messages the writer overwrote before this reader read them.
    pub lost: u64,
    /// Bad indices or messages detected (each reported by [`Reader::receive`] as an error).
    pub corrupt: u64,
    /// Credit IPIs sent to a waiting writer.
    pub credits: u64,
    /// Halts waiting for a doorbell.
    pub halts: u64,
}

/// What a misbehaving writer was caught doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The ring was never initialised, or its header is not a ring's.
    BadHeader { magic: u64, slots: u64 },
    /// `head` went backwards.
    HeadBackwards { was: u64, now: u64 },
    /// `head` claims more messages than any writer can have sent.
    HeadImpossible { head: u64, expected: u64 },
    /// `head` says message `seq` is published, but its slot is not complete.
    SlotNotWritten { seq: u64, stamp: u64 },
    /// The slot of `seq` holds another sequence number.
    BadSequence { seq: u64, found: u64 },
    /// The length is past [`MAX_PAYLOAD_BYTES`].
    BadLength { seq: u64, bytes: u64 },
    /// The payload does not match its checksum.
    BadChecksum { seq: u64 },
}

/// One message received into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub seq: u64,
    pub bytes: usize,
}

/// One reader of a channel.
pub struct Reader<'r, S: Signal> {
    ring: &'r [AtomicU64],
    ack: &'r [AtomicU64],
    slots: u64,
    expected: u64,
    last_head: u64,
    last_bad_head: u64,
    writer: u32,
    credit: u8,
    signal: S,
    pub stats: ReaderStats,
}

impl<'r, S: Signal> Reader<'r, S> {
    /// Takes a reader's side; the ring must have been initialised by the writer (see
    /// [`Reader::ready`]).
    pub fn new(
        channel: &BootChannel,
        (ring, ack): (&'r [AtomicU64], &'r [AtomicU64]),
        signal: S,
    ) -> Self {
        Reader {
            ring,
            ack,
            slots: slots(ring.len()),
            expected: 0,
            last_head: 0,
            last_bad_head: u64::MAX,
            writer: channel.peer_apic_ids[0],
            credit: channel.credit_vector,
            signal,
            stats: ReaderStats::default(),
        }
    }

    /// Whether the writer has initialised the ring (and its header is sound).
    pub fn ready(&self) -> Result<bool, RingError> {
        let magic = self.ring[H_MAGIC].load(Ordering::Acquire);
        let slots = self.ring[H_SLOTS].load(Ordering::Relaxed);
        match (magic, slots == self.slots) {
            (0, _) => Ok(false),
            (MAGIC, true) => Ok(true),
            _ => Err(RingError::BadHeader { magic, slots }),
        }
    }

    /// The next message number this reader expects.
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// True when the writer has closed the stream and this reader has read (or lost) all of it.
    pub fn finished(&self) -> bool {
        let closed = self.ring[H_CLOSED].load(Ordering::Acquire);
        closed != 0 && self.expected >= closed - 1
    }

    /// Takes the next message into `buf`: `Ok(None)` when there is none yet; an error (counted,
    /// the bad message skipped) when the writer broke the ring's rules.
    pub fn receive(
        &mut self,
        buf: &mut [u8; MAX_PAYLOAD_BYTES],
    ) -> Result<Option<Received>, RingError> {
        let head = self.ring[H_HEAD].load(Ordering::Acquire);
        if head < self.last_head || head > self.expected.saturating_add(MAX_AHEAD) {
            return self.bad_head(head);
        }
        self.last_head = head;
        if head <= self.expected {
            return Ok(None);
        }
        if head - self.expected > self.slots {
            self.lose(head - self.slots - self.expected);
        }
        let n = self.expected;
        let base = slot_word(n, self.slots);
        let slot = &self.ring[base..base + SLOT_WORDS];
        let stamp = slot[S_STAMP].load(Ordering::Acquire);
        if stamp != 2 * n + 2 {
            // Past `2n+2` (even, or odd while the writer refills it): the writer lapped this
            // reader; below: published but never completed.
            return match stamp > 2 * n + 2 {
                true => {
                    self.lose(1);
                    Ok(None)
                }
                false => self.skip(RingError::SlotNotWritten { seq: n, stamp }),
            };
        }
        let meta = slot[S_META].load(Ordering::Relaxed);
        let seq = slot[S_SEQ].load(Ordering::Relaxed);
        let bytes = (meta & 0xFFFF_FFFF) as usize;
        let words = bytes.min(MAX_PAYLOAD_BYTES).div_ceil(8);
        for i in 0..words {
            let word = slot[S_PAYLOAD + i].load(Ordering::Relaxed).to_le_bytes();
            let end = (8 * i + 8).min(MAX_PAYLOAD_BYTES);
            buf[8 * i..end].copy_from_slice(&word[..end - 8 * i]);
        }
        fence(Ordering::Acquire);
        if slot[S_STAMP].load(Ordering::Relaxed) != stamp {
            self.lose(1);
            return Ok(None);
        }
        if seq != n {
            return self.skip(RingError::BadSequence { seq: n, found: seq });
        }
        if bytes > MAX_PAYLOAD_BYTES {
            return self.skip(RingError::BadLength {
                seq: n,
                bytes: bytes as u64,
            });
        }
        if checksum(n, &buf[..bytes]) != (meta >> 32) as u32 {
            return self.skip(RingError::BadChecksum { seq: n });
        }
        self.stats.messages += 1;
        self.stats.bytes += bytes as u64;
        self.advance(n + 1);
        Ok(Some(Received { seq: n, bytes }))
    }

    /// Halts until a doorbell, unless a message (or the end of the stream) is already there.
    pub fn wait(&mut self) {
        self.ack[A_WAITING].store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let head = self.ring[H_HEAD].load(Ordering::Acquire);
        if head == self.expected && !self.finished() {
            self.stats.halts += 1;
            self.signal.halt();
        }
        self.ack[A_WAITING].store(0, Ordering::Relaxed);
    }

    fn bad_head(&mut self, head: u64) -> Result<Option<Received>, RingError> {
        let error = match head < self.last_head {
            true => RingError::HeadBackwards {
                was: self.last_head,
                now: head,
            },
            false => RingError::HeadImpossible {
                head,
                expected: self.expected,
            },
        };
        if head == self.last_bad_head {
            return Ok(None);
        }
        self.last_bad_head = head;
        self.count_corrupt();
        Err(error)
    }

    fn count_corrupt(&mut self) {
        self.stats.corrupt += 1;
        self.ack[A_CORRUPT].store(self.stats.corrupt, Ordering::Relaxed);
    }

    /// Counts a bad message and skips it.
    fn skip(&mut self, error: RingError) -> Result<Option<Received>, RingError> {
        self.count_corrupt();
        self.advance(self.expected + 1);
        Err(error)
    }

    /// Counts `n` messages overwritten before they were read and moves past them.
    fn lose(&mut self, n: u64) {
        self.stats.lost += n;
        self.ack[A_LOST].store(self.stats.lost, Ordering::Relaxed);
        self.advance(self.expected + n);
    }

    /// Acknowledges everything before `next`; credits the writer if it waits.
    fn advance(&mut self, next: u64) {
        self.expected = next;
        self.ack[A_ACKED].store(next, Ordering::Release);
        fence(Ordering::SeqCst);
        if self.ring[H_WRITER_WAITING].load(Ordering::Relaxed) != 0 {
            self.signal.raise(self.writer, self.credit);
            self.stats.credits += 1;
        }
    }
}
