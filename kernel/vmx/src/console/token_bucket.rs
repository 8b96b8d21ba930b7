//! A token bucket in TSC cycles: one token per console byte, refilled at one token per
//! `cycles_per_byte`, holding at most `capacity_bytes`, so a guest can burst a screenful and then
//! write at a steady rate without drowning the other partitions' output.

/// Rate limiter for one vCPU's console output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    capacity_bytes: u64,
    cycles_per_byte: u64,
    tokens_bytes: u64,
    /// TSC value up to which refills have been credited.
    credited_cycles: u64,
    dropped_bytes: u64,
}

impl TokenBucket {
    /// A full bucket at time `now_cycles`. `cycles_per_byte` of 0 is treated as 1.
    pub const fn new(capacity_bytes: u64, cycles_per_byte: u64, now_cycles: u64) -> Self {
        let cycles_per_byte = if cycles_per_byte == 0 {
            1
        } else {
            cycles_per_byte
        };
        TokenBucket {
            capacity_bytes,
            cycles_per_byte,
            tokens_bytes: capacity_bytes,
            credited_cycles: now_cycles,
            dropped_bytes: 0,
        }
    }

    /// Grants up to `wanted_bytes` at time `now_cycles`; the rest count as dropped. Returns the grant.
    pub fn take(&mut self, now_cycles: u64, wanted_bytes: u64) -> u64 {
        self.refill(now_cycles);
        let granted = wanted_bytes.min(self.tokens_bytes);
        self.tokens_bytes -= granted;
        self.dropped_bytes += wanted_bytes - granted;
        granted
    }

    /// Takes `wanted_bytes` whole at time `now_cycles`, or nothing (they count as dropped): for output
    /// that is printed entirely or not at all, such as a hypervisor-made report line.
    pub fn take_whole(&mut self, now_cycles: u64, wanted_bytes: u64) -> bool {
        self.refill(now_cycles);
        if wanted_bytes > self.tokens_bytes {
            self.dropped_bytes += wanted_bytes;
            return false;
        }
        self.tokens_bytes -= wanted_bytes;
        true
    }

    /// Tokens available at time `now_cycles` (after crediting the refill).
    pub fn available(&mut self, now_cycles: u64) -> u64 {
        self.refill(now_cycles);
        self.tokens_bytes
    }

    /// Spends `bytes` tokens that [`TokenBucket::available`] offered (at most what is left).
    pub fn spend(&mut self, bytes: u64) {
        self.tokens_bytes -= bytes.min(self.tokens_bytes);
    }

    /// Bytes refused so far.
    pub const fn dropped_bytes(&self) -> u64 {
        self.dropped_bytes
    }

    /// Tokens available now (after the last refill).
    pub const fn tokens_bytes(&self) -> u64 {
        self.tokens_bytes
    }

    /// Credits whole tokens for the cycles since the last credit (a TSC going backwards adds nothing).
    fn refill(&mut self, now_cycles: u64) {
        let elapsed_cycles = now_cycles.saturating_sub(self.credited_cycles);
        let earned_bytes = elapsed_cycles / self.cycles_per_byte;
        let room_bytes = self.capacity_bytes - self.tokens_bytes;
        if earned_bytes >= room_bytes {
            self.tokens_bytes = self.capacity_bytes;
            self.credited_cycles = self.credited_cycles.max(now_cycles);
        } else {
            self.tokens_bytes += earned_bytes;
            self.credited_cycles += earned_bytes * self.cycles_per_byte;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_up_to_capacity_then_drop() {
        let mut bucket = TokenBucket::new(100, 10, 0);
        assert_eq!(bucket.take(0, 60), 60);
        assert_eq!(bucket.take(0, 60), 40);
        assert_eq!(bucket.dropped_bytes(), 20);
        assert_eq!(bucket.take(0, 1), 0);
    }

    #[test]
    fn refills_one_byte_per_period_keeping_remainders() {
        let mut bucket = TokenBucket::new(100, 10, 1000);
        bucket.take(1000, 100);
        assert_eq!(bucket.take(1015, 5), 1, "15 cycles earn one byte");
        assert_eq!(bucket.take(1020, 5), 1, "the 5 leftover cycles counted");
        assert_eq!(bucket.take(1100, 100), 8);
    }

    #[test]
    fn never_exceeds_capacity_and_ignores_time_going_back() {
        let mut bucket = TokenBucket::new(50, 2, 0);
        bucket.take(0, 50);
        assert_eq!(bucket.take(1_000_000, 80), 50);
        assert_eq!(bucket.take(10, 5), 0, "an earlier TSC value earns nothing");
        assert_eq!(bucket.take(1_000_010, 5), 5);
    }

    #[test]
    fn whole_takes_all_or_nothing() {
        let mut bucket = TokenBucket::new(100, 10, 0);
        assert!(bucket.take_whole(0, 60));
        assert!(!bucket.take_whole(0, 60), "40 left: the 60 are refused");
        assert_eq!(bucket.tokens_bytes(), 40, "a refusal spends nothing");
        assert_eq!(bucket.dropped_bytes(), 60);
        assert!(bucket.take_whole(200, 60), "20 earned meanwhile");
        assert_eq!(bucket.tokens_bytes(), 0);
    }

    #[test]
    fn available_then_spend() {
        let mut bucket = TokenBucket::new(100, 10, 0);
        assert_eq!(bucket.available(0), 100);
        bucket.spend(70);
        assert_eq!(bucket.available(100), 40, "10 earned");
        bucket.spend(1000);
        assert_eq!(bucket.tokens_bytes(), 0, "never below zero");
    }

    #[test]
    fn zero_period_is_one_cycle() {
        let mut bucket = TokenBucket::new(4, 0, 0);
        bucket.take(0, 4);
        assert_eq!(bucket.take(3, 4), 3);
    }
}
