//! A single-producer ring over a Tessera channel (fixed 256-byte slots), with sequence numbers,
//! checksums, doorbells and credits.
//!
//! Memory (words of 8 bytes; the ring region is the channel's `ring_bytes`):
//! - Header, the first slot's 256 bytes: magic `TESSRING`, slot count, `head` (messages published),
//!   `writer_waiting` (the writer waits for credit), `closed` (1 + the last message's number once
//!   the writer has finished).
//! - Slot `k` (message `n` goes to slot `n % slots`): `stamp` (2n+1 while the writer fills it,
//!   2n+2 once message `n` is complete), length and checksum, `n` itself, 232 bytes of payload.
//! - Each reader's acknowledgement page (the reader writes it, the writer only reads it):
//!   `acked` (messages consumed), `waiting` (the reader is about to halt), `lost`, `corrupt`.
//!
//! Memory ordering (what makes a message visible whole):
//! - Writer: `stamp = 2n+1` (relaxed), release fence, payload and metadata (relaxed),
//!   `stamp = 2n+2` (release); after one or more messages, `head` (release); then a SeqCst fence and
//!   a doorbell to each reader whose `waiting` is set.
//! - Reader: `head` (acquire); `stamp` (acquire) must be 2n+2; payload (relaxed); acquire fence;
//!   `stamp` again: a changed stamp means the writer lapped it mid-read (counted lost). Then
//!   `acked = n+1` (release), a SeqCst fence, and a credit to the writer if `writer_waiting` is set.
//! - Halting without losing a wake-up: the waiter sets its flag, SeqCst fence, re-checks the
//!   condition, and only then halts with `STI; HLT` (interrupts were masked, so a doorbell that
//!   came in between is taken right after the halt begins). The other side publishes, SeqCst
//!   fence, then reads the flag (Dekker: one of the two sees the other).
//!
//! Full ring ([`FullPolicy`]): `Block` waits (halted) for credit from the slowest reader; a
//! `DropOldestAfter` writer waits for a lagging reader at most its patience, then leaves it behind:
//! it overwrites that reader's oldest messages (counting them) and does not wait for it again until
//! it has caught up; the reader counts what it lost from the sequence numbers. A slow reader thus
//! holds the writer, and through it the other readers, up once by at most the patience.
//!
//! What a reader checks, so a misbehaving writer is detected, reported and survived: `head` never
//! goes backwards nor runs absurdly far ahead, a published slot is complete, the slot's sequence
//! number is the one expected, the length fits, the checksum matches. A bad message is skipped
//! (acknowledged) and counted; the reader keeps going.

mod reader;
mod writer;

pub use reader::{Reader, ReaderStats, Received, RingError};
pub use writer::{Corruption, FullPolicy, Writer, WriterStats};

/// Bytes of a slot.
pub const SLOT_BYTES: usize = 256;
/// Most payload bytes in one message.
pub const MAX_PAYLOAD_BYTES: usize = SLOT_BYTES - 3 * 8;
/// "TESSRING".
pub const MAGIC: u64 = u64::from_le_bytes(*b"TESSRING");
/// Most readers of one channel.
pub const READERS_MAX: usize = tessera_vmx::guest_abi::CHANNEL_READERS_MAX;

const SLOT_WORDS: usize = SLOT_BYTES / 8;
const ACK_PAGE_WORDS: usize = 512;

/// Header words.
const H_MAGIC: usize = 0;
const H_SLOTS: usize = 1;
const H_HEAD: usize = 2;
const H_WRITER_WAITING: usize = 3;
const H_CLOSED: usize = 4;

/// Slot words.
const S_STAMP: usize = 0;
const S_META: usize = 1;
const S_SEQ: usize = 2;
const S_PAYLOAD: usize = 3;

/// Acknowledgement words.
const A_ACKED: usize = 0;
const A_WAITING: usize = 1;
const A_LOST: usize = 2;
const A_CORRUPT: usize = 3;

/// Slots of a ring of `ring_words` words (the first slot's room is the header).
pub const fn slots(ring_words: usize) -> u64 {
    (ring_words / SLOT_WORDS).saturating_sub(1) as u64
}

/// First word of slot `n % slots`.
const fn slot_word(n: u64, slots: u64) -> usize {
    SLOT_WORDS * (1 + (n % slots) as usize)
}

/// FNV-1a over the payload, seeded with the message number (a replayed slot fails it too).
pub fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut hash = 0x811C_9DC5u32 ^ (seq as u32) ^ ((seq >> 32) as u32).rotate_left(16);
    for &b in payload {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// How a side sends and waits: the real guest uses IPIs and `STI; HLT`, host tests a stand-in.
pub trait Signal {
    /// Raises `vector` on `apic_id`.
    fn raise(&mut self, apic_id: u32, vector: u8);
    /// Halts until an interrupt arrives (interrupts masked before and after).
    fn halt(&mut self);
    /// The time-stamp counter.
    fn now(&mut self) -> u64;
}

/// IPIs through the x2APIC and `STI; HLT`.
#[derive(Clone, Copy, Debug)]
pub struct Ipi;

impl Signal for Ipi {
    fn raise(&mut self, apic_id: u32, vector: u8) {
        crate::apic::send_fixed(apic_id, vector);
    }

    fn halt(&mut self) {
        crate::cpu::enable_interrupts_and_halt();
        crate::cpu::disable_interrupts();
    }

    fn now(&mut self) -> u64 {
        crate::cpu::rdtsc()
    }
}

#[cfg(test)]
mod tests;
