//! Where a vCPU keeps its samples and exit windows until it prints them: one static arena per
//! partition, split evenly among its vCPUs (atomics, so sharing it is safe code).

use core::sync::atomic::{AtomicU64, Ordering};
use tessera_guest::{fail, Failure};

/// Words of the partition's arena (2 MiB).
const ARENA_WORDS: usize = 256 * 1024;

static ARENA: [AtomicU64; ARENA_WORDS] = [const { AtomicU64::new(0) }; ARENA_WORDS];

/// This vCPU's share of the arena, handed out front to back.
pub struct Region {
    next: usize,
    end: usize,
}

/// Words taken from a region.
#[derive(Clone, Copy)]
pub struct Slab {
    start: usize,
    len: usize,
}

impl Region {
    /// The share of vCPU `vcpu` of `count`.
    pub fn of(vcpu: usize, count: usize) -> Region {
        let share = ARENA_WORDS / count.max(1);
        Region {
            next: vcpu * share,
            end: (vcpu + 1) * share,
        }
    }

    /// `words` more words, zeroed.
    pub fn take(&mut self, words: usize) -> Result<Slab, Failure> {
        if self.end - self.next < words {
            return fail!(
                "sample storage full: {words} words wanted, {} left (fewer --samples)",
                self.end - self.next
            );
        }
        let slab = Slab {
            start: self.next,
            len: words,
        };
        self.next += words;
        for i in 0..words {
            slab.set(i, 0);
        }
        Ok(slab)
    }

    /// Gives back everything taken after `mark` (see [`Region::mark`]).
    pub fn release_to(&mut self, mark: usize) {
        self.next = mark;
    }

    pub fn mark(&self) -> usize {
        self.next
    }
}

impl Slab {
    pub fn set(&self, index: usize, value: u64) {
        assert!(index < self.len);
        ARENA[self.start + index].store(value, Ordering::Relaxed);
    }

    pub fn get(&self, index: usize) -> u64 {
        assert!(index < self.len);
        ARENA[self.start + index].load(Ordering::Relaxed)
    }
}
