//! The writer's side of a channel ring (see the module rule in [`super`]).

use super::*;
use core::sync::atomic::{fence, AtomicU64, Ordering};
use tessera_vmx::guest_abi::BootChannel;

/// What the writer does when a reader has not made room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Wait (halted) for credit: nothing is ever lost.
    Block,
    /// Wait at most this many TSC cycles for a lagging reader, then overwrite its oldest message.
    DropOldestAfter { patience_cycles: u64 },
}

/// How [`Writer::send_corrupted`] breaks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The checksum does not match the payload.
    Checksum,
    /// The slot carries another message number.
    Sequence,
    /// The length is past the slot.
    Length,
    /// The slot's stamp says it is still being written.
    Unwritten,
}

/// The writer's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub messages: u64,
    pub bytes: u64,
    /// Doorbell IPIs sent (one per publication that found a reader waiting).
    pub doorbells: u64,
    /// Times the ring was full for some reader.
    pub full: u64,
    /// Halts waiting for credit.
    pub halts: u64,
    /// Per reader: messages overwritten before it read them (`DropOldestAfter`).
    pub overwritten: [u64; READERS_MAX],
}

/// The writer of one channel.
pub struct Writer<'r, S: Signal> {
    ring: &'r [AtomicU64],
    acks: &'r [AtomicU64],
    readers: usize,
    slots: u64,
    next: u64,
    published: u64,
    peers: [u32; READERS_MAX],
    doorbell: u8,
    policy: FullPolicy,
    /// Readers left behind (`DropOldestAfter`): not waited for again until they catch up.
    abandoned: u32,
    signal: S,
    pub stats: WriterStats,
}

impl<'r, S: Signal> Writer<'r, S> {
    /// Initialises the ring (`ring`, `acks` from [`crate::cpu::channel_words`]) and takes the
    /// writer's side.
    pub fn new(
        channel: &BootChannel,
        (ring, acks): (&'r [AtomicU64], &'r [AtomicU64]),
        policy: FullPolicy,
        signal: S,
    ) -> Self {
        let slots = slots(ring.len());
        ring[H_SLOTS].store(slots, Ordering::Relaxed);
        ring[H_HEAD].store(0, Ordering::Relaxed);
        ring[H_MAGIC].store(MAGIC, Ordering::Release);
        Writer {
            ring,
            acks,
            readers: usize::from(channel.reader_count).min(READERS_MAX),
            slots,
            next: 0,
            published: 0,
            peers: channel.peer_apic_ids,
            doorbell: channel.doorbell_vector,
            policy,
            abandoned: 0,
            signal,
            stats: WriterStats::default(),
        }
    }

    /// Sends one message (at most [`MAX_PAYLOAD_BYTES`]) and rings the doorbell of every reader
    /// that waits for one. Returns its sequence number.
    pub fn send(&mut self, payload: &[u8]) -> u64 {
        let n = self.put(payload);
        self.publish();
        n
    }

    /// Sends every message, publishing them (and ringing doorbells) once, or whenever the ring
    /// fills up.
    pub fn send_batch<'m>(&mut self, messages: impl IntoIterator<Item = &'m [u8]>) {
        for m in messages {
            self.put(m);
        }
        self.publish();
    }

    /// Marks the stream finished: readers that reach the end stop waiting.
    pub fn close(&mut self) {
        self.publish();
        self.ring[H_CLOSED].store(self.next + 1, Ordering::Release);
        fence(Ordering::SeqCst);
        for r in 0..self.readers {
            self.signal.raise(self.peers[r], self.doorbell);
            self.stats.doorbells += 1;
        }
    }

    /// Rings every reader's doorbell, waiting or not.
    pub fn nudge(&mut self) {
        for r in 0..self.readers {
            self.signal.raise(self.peers[r], self.doorbell);
            self.stats.doorbells += 1;
        }
    }

    /// Plays a misbehaving writer (adversarial tests): stores `head` as it is not.
    pub fn corrupt_head(&mut self, head: u64) {
        self.ring[H_HEAD].store(head, Ordering::Release);
        self.nudge();
    }

    /// Undoes [`Writer::corrupt_head`].
    pub fn restore_head(&mut self) {
        self.ring[H_HEAD].store(self.published, Ordering::Release);
    }

    /// Plays a misbehaving writer: publishes the next message broken as `how` says.
    pub fn send_corrupted(&mut self, payload: &[u8], how: Corruption) {
        let n = self.put(payload);
        let slot = &self.ring[slot_word(n, self.slots)..];
        match how {
            Corruption::Checksum => slot[S_META].fetch_xor(1 << 32, Ordering::Relaxed),
            Corruption::Sequence => slot[S_SEQ].fetch_add(self.slots, Ordering::Relaxed),
            Corruption::Length => slot[S_META].fetch_or(0xFFFF, Ordering::Relaxed),
            Corruption::Unwritten => slot[S_STAMP].fetch_sub(1, Ordering::Relaxed),
        };
        self.publish();
    }

    /// Messages reader `r` has acknowledged, and what it counted as lost and corrupt.
    pub fn reader_progress(&self, r: usize) -> (u64, u64, u64) {
        let ack = &self.acks[r * ACK_PAGE_WORDS..];
        (
            ack[A_ACKED].load(Ordering::Acquire),
            ack[A_LOST].load(Ordering::Relaxed),
            ack[A_CORRUPT].load(Ordering::Relaxed),
        )
    }

    fn acked(&self, r: usize) -> u64 {
        self.acks[r * ACK_PAGE_WORDS + A_ACKED].load(Ordering::Acquire)
    }

    /// Readers for which slot `self.next` still holds a message they have not read.
    fn lagging(&self) -> u32 {
        (0..self.readers)
            .filter(|&r| self.next.saturating_sub(self.acked(r)) >= self.slots)
            .fold(0, |set, r| set | 1 << r)
    }

    /// Writes the next message into its slot (waiting for room first); not yet published.
    fn put(&mut self, payload: &[u8]) -> u64 {
        let payload = &payload[..payload.len().min(MAX_PAYLOAD_BYTES)];
        self.make_room();
        let n = self.next;
        let base = slot_word(n, self.slots);
        let slot = &self.ring[base..base + SLOT_WORDS];
        slot[S_STAMP].store(2 * n + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let meta = payload.len() as u64 | u64::from(checksum(n, payload)) << 32;
        slot[S_META].store(meta, Ordering::Relaxed);
        slot[S_SEQ].store(n, Ordering::Relaxed);
        for (i, chunk) in payload.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            slot[S_PAYLOAD + i].store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
        slot[S_STAMP].store(2 * n + 2, Ordering::Release);
        self.next = n + 1;
        self.stats.messages += 1;
        self.stats.bytes += payload.len() as u64;
        n
    }

    /// Waits, as the policy says, until no reader still needs the slot about to be written.
    /// `DropOldestAfter`: a reader that frees no slot within the patience is left behind (its
    /// oldest messages overwritten, one count each) and not waited for again until it catches up.
    fn make_room(&mut self) {
        let lagging = self.lagging();
        self.abandoned &= lagging;
        self.count_overwritten(self.abandoned);
        let mut waiting_for = lagging & !self.abandoned;
        if waiting_for == 0 {
            return;
        }
        self.stats.full += 1;
        self.publish();
        let start = self.signal.now();
        while waiting_for != 0 {
            if let FullPolicy::DropOldestAfter { patience_cycles } = self.policy {
                if self.signal.now().wrapping_sub(start) > patience_cycles {
                    self.abandoned |= waiting_for;
                    self.count_overwritten(waiting_for);
                    return;
                }
                core::hint::spin_loop();
            } else {
                self.ring[H_WRITER_WAITING].store(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if self.lagging() != 0 {
                    self.stats.halts += 1;
                    self.signal.halt();
                }
                self.ring[H_WRITER_WAITING].store(0, Ordering::Relaxed);
            }
            waiting_for = self.lagging() & !self.abandoned;
        }
    }

    fn count_overwritten(&mut self, readers: u32) {
        for r in (0..self.readers).filter(|r| readers & 1 << r != 0) {
            self.stats.overwritten[r] += 1;
        }
    }

    /// Makes every written message visible and rings the doorbell of each waiting reader.
    fn publish(&mut self) {
        if self.published == self.next {
            return;
        }
        self.ring[H_HEAD].store(self.next, Ordering::Release);
        self.published = self.next;
        fence(Ordering::SeqCst);
        for r in 0..self.readers {
            if self.acks[r * ACK_PAGE_WORDS + A_WAITING].load(Ordering::Relaxed) != 0 {
                self.signal.raise(self.peers[r], self.doorbell);
                self.stats.doorbells += 1;
            }
        }
    }
}
