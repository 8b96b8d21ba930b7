//! One vCPU's local APIC timer as software keeps it (SDM Vol. 3A 11.5.4): one-shot, periodic and
//! TSC-deadline modes over absolute TSC deadlines. The kernel feeds it the guest's register
//! accesses and the TSC, asks for the next deadline (to time it) and calls [`ApicTimer::expire`]
//! before each VM entry, which says what to deliver.

use super::registers::{divisor, Lvt, TimerMode, DIVIDE_WRITABLE, LVT_MASK};

/// What one expiry produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// The vector to deliver; `None` when the LVT is masked or holds an illegal vector.
    pub vector: Option<u8>,
    /// Periodic mode: whole periods that passed besides this one (their interrupts merge into this
    /// one, as a second request for a vector already in IRR does on bare metal).
    pub merged_periods: u64,
}

/// A vCPU's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApicTimer {
    lvt: Lvt,
    divide_configuration: u32,
    initial_count: u32,
    /// TSC cycles one count takes at divide 1 (the timer counts at TSC frequency / this).
    tsc_per_count: u64,
    /// TSC cycles one count takes with the current divisor.
    cycles_per_count: u64,
    /// Absolute TSC of the next expiry, when armed.
    deadline: Option<u64>,
    /// IA32_TSC_DEADLINE as the guest reads it (0 once it fired).
    tsc_deadline: u64,
}

impl ApicTimer {
    /// A timer after reset (LVT masked, one-shot, divide by 2, stopped) that counts once every
    /// `tsc_per_count` TSC cycles at divide 1 (at least 1).
    pub const fn new(tsc_per_count: u64) -> Self {
        let tsc_per_count = if tsc_per_count == 0 { 1 } else { tsc_per_count };
        ApicTimer {
            lvt: Lvt::RESET,
            divide_configuration: 0,
            initial_count: 0,
            tsc_per_count,
            cycles_per_count: 2 * tsc_per_count,
            deadline: None,
            tsc_deadline: 0,
        }
    }

    pub const fn lvt(&self) -> Lvt {
        self.lvt
    }

    /// The absolute TSC of the next expiry, when the timer is armed.
    pub const fn next_expiry(&self) -> Option<u64> {
        self.deadline
    }

    /// Stops the timer (a stopped vCPU, or a mode change).
    pub fn disarm(&mut self) {
        self.deadline = None;
        self.tsc_deadline = 0;
    }

    /// A write of the LVT timer entry. A mode change disarms the timer (SDM 11.5.4.1); a new
    /// vector or mask applies to the next expiry.
    pub fn write_lvt(&mut self, value: u32, software_enabled: bool) {
        let new = Lvt::written(value, software_enabled);
        if new.mode() != self.lvt.mode() {
            self.disarm();
        }
        self.lvt = new;
    }

    /// The APIC was software-disabled (SVR bit 8 cleared): the LVT entry is masked.
    pub fn software_disable(&mut self) {
        self.lvt = Lvt(self.lvt.0 | LVT_MASK);
    }

    /// A write of the initial-count register: (re)starts counting from `value` at `now`; 0 stops
    /// the timer. Ignored in TSC-deadline mode.
    pub fn write_initial_count(&mut self, value: u32, now: u64) {
        if self.lvt.mode() == TimerMode::TscDeadline {
            return;
        }
        self.initial_count = value;
        self.deadline = match value {
            0 => None,
            _ => Some(now.saturating_add(self.period_cycles())),
        };
    }

    pub const fn initial_count(&self) -> u32 {
        self.initial_count
    }

    /// A write of the divide configuration: a running count goes on from where it is at the new rate.
    pub fn write_divide_configuration(&mut self, value: u32, now: u64) {
        let remaining = u64::from(self.current_count(now));
        self.divide_configuration = value & DIVIDE_WRITABLE;
        self.cycles_per_count = divisor(self.divide_configuration) * self.tsc_per_count;
        if self.deadline.is_some() && self.lvt.mode() != TimerMode::TscDeadline {
            self.deadline = Some(now.saturating_add(remaining * self.cycles_per_count));
        }
    }

    pub const fn divide_configuration(&self) -> u32 {
        self.divide_configuration
    }

    /// The current-count register at `now` (0 in TSC-deadline mode and once a one-shot count ended).
    pub fn current_count(&self, now: u64) -> u32 {
        let Some(deadline) = self.deadline else {
            return 0;
        };
        let cycles_left = match self.lvt.mode() {
            TimerMode::TscDeadline => return 0,
            _ if now < deadline => deadline - now,
            TimerMode::OneShot => return 0,
            TimerMode::Periodic => {
                let period = self.period_cycles();
                period - (now - deadline) % period
            }
        };
        let counts = cycles_left.div_ceil(self.cycles_per_count);
        counts.min(u64::from(self.initial_count)) as u32
    }

    /// A write of IA32_TSC_DEADLINE: arms the timer for TSC `value`, 0 disarms. Ignored outside
    /// TSC-deadline mode. A deadline already past fires at the next [`ApicTimer::expire`].
    pub fn write_tsc_deadline(&mut self, value: u64) {
        if self.lvt.mode() != TimerMode::TscDeadline {
            return;
        }
        self.tsc_deadline = value;
        self.deadline = (value != 0).then_some(value);
    }

    /// Hands an armed TSC deadline over to the processor's guest timer: returns it (0 when none is
    /// armed or outside TSC-deadline mode) and keeps nothing armed here. [`ApicTimer::write_tsc_deadline`]
    /// takes it back.
    pub fn hand_over_deadline(&mut self) -> u64 {
        if self.lvt.mode() != TimerMode::TscDeadline {
            return 0;
        }
        let deadline = self.deadline.take().unwrap_or(0);
        self.tsc_deadline = 0;
        deadline
    }

    /// IA32_TSC_DEADLINE as the guest reads it: the armed deadline, 0 after it fired or outside
    /// TSC-deadline mode.
    pub fn tsc_deadline(&self) -> u64 {
        match self.lvt.mode() {
            TimerMode::TscDeadline => self.tsc_deadline,
            _ => 0,
        }
    }

    /// The expiry due at `now`, if any: one-shot and TSC-deadline timers disarm, a periodic one
    /// moves to its next period after `now`.
    pub fn expire(&mut self, now: u64) -> Option<Expiry> {
        let deadline = self.deadline.filter(|&d| d <= now)?;
        let mut merged_periods = 0;
        self.deadline = match self.lvt.mode() {
            TimerMode::Periodic => {
                let period = self.period_cycles();
                merged_periods = (now - deadline) / period;
                Some(deadline.saturating_add((merged_periods + 1) * period))
            }
            TimerMode::OneShot => None,
            TimerMode::TscDeadline => {
                self.tsc_deadline = 0;
                None
            }
        };
        Some(Expiry {
            vector: self.lvt.delivered_vector(),
            merged_periods,
        })
    }

    /// TSC cycles of one whole count from `initial_count` (at least 1).
    fn period_cycles(&self) -> u64 {
        (u64::from(self.initial_count) * self.cycles_per_count).max(1)
    }
}

/// Largest VMX-preemption timer value Tessera programs: Intel erratum EMR158 (the timer may expire
/// early for certain large values; mitigation: stay below 2^25 x CPUID.15H:EBX/EAX, and that ratio
/// is at least 1). A longer wait takes an early exit, after which the timer is re-armed.
pub const PREEMPTION_TIMER_MAX: u32 = 1 << 25;

/// The VMX-preemption timer value that expires no earlier than `deadline` when loaded at `now`;
/// the timer counts down once every `2^rate_shift` TSC cycles (IA32_VMX_MISC bits 4:0, SDM Vol.
/// 3C 26.5.1). A count may end up to one step early on hardware, so one step is added when the
/// rate is above 1; values are capped at [`PREEMPTION_TIMER_MAX`] (the exit then comes early and
/// the kernel re-arms, so an early exit never delivers early).
pub fn preemption_timer_value(deadline: u64, now: u64, rate_shift: u8) -> u32 {
    let cycles = deadline.saturating_sub(now);
    let step = 1u64 << rate_shift.min(31);
    let mut ticks = cycles.div_ceil(step);
    if rate_shift > 0 && cycles > 0 {
        ticks += 1;
    }
    ticks.min(u64::from(PREEMPTION_TIMER_MAX)) as u32
}
