//! Running one side of an IPI probe: warm-up samples first (taken, never kept), then `samples`
//! kept ones, paced `gap_cycles` apart, with an exit window closed after every `batch` of them.
//! One-way: the sender keeps its TSC just before each ICR write, the receiver the TSC at handler
//! entry (xtask pairs them). Round trip: the initiator keeps reply entry TSC minus send TSC.

use crate::arena::{Region, Slab};
use crate::sync::{self, Arrivals};
use tessera_guest::exits::{Meter, ENTRIES};
use tessera_guest::{apic, cpu, BootInfo, Failure};
use tessera_latency_record::plan::{Probe, Settings};
use tessera_latency_record::{Family, Role};

/// What one side of a probe took, ready to print.
pub struct Taken {
    pub probe: Probe,
    pub role: Role,
    /// One word per kept sample (stamps or cycles; none for a responder).
    pub values: Slab,
    /// `ENTRIES` words of exits per batch.
    pub windows: Slab,
}

/// This vCPU's role in `probe`.
pub fn role_in(probe: &Probe, me: tessera_latency_record::plan::Place) -> Role {
    match (probe.family, probe.sender == me) {
        (Family::IpiOneWay, true) => Role::Send,
        (Family::IpiOneWay, false) => Role::Receive,
        (Family::IpiRoundTrip, true) => Role::Initiate,
        (Family::IpiRoundTrip, false) => Role::Respond,
        (Family::TimerLateness, _) => Role::Timer,
    }
}

/// Batches of `settings`: `samples / batch` rounded up.
pub fn batches(settings: &Settings) -> usize {
    (settings.samples as usize).div_ceil(settings.batch.max(1) as usize)
}

/// Runs this vCPU's side of `probe`.
pub fn run(
    info: &BootInfo,
    settings: &Settings,
    probe: &Probe,
    role: Role,
    arrivals: &mut Arrivals,
    region: &mut Region,
) -> Result<Taken, Failure> {
    let kept = match role {
        Role::Respond => 0,
        _ => settings.samples as usize,
    };
    let taken = Taken {
        probe: *probe,
        role,
        values: region.take(kept.max(1))?,
        windows: region.take(batches(settings) * ENTRIES)?,
    };
    let mut side = Side {
        info,
        settings,
        probe,
        arrivals,
        taken: &taken,
        windows: None,
        next_due: 0,
    };
    match role {
        Role::Send => side.send()?,
        Role::Receive => side.receive()?,
        Role::Initiate => side.initiate()?,
        Role::Respond => side.respond()?,
        Role::Timer => side.timer()?,
    }
    Ok(taken)
}

struct Side<'a> {
    info: &'a BootInfo,
    settings: &'a Settings,
    probe: &'a Probe,
    arrivals: &'a mut Arrivals,
    taken: &'a Taken,
    /// Open from the first kept round: each batch is one window of exits.
    windows: Option<Meter>,
    /// TSC before which the next sample may not start (a gap after the last send or hypercall).
    next_due: u64,
}

impl Side<'_> {
    fn rounds(&self) -> usize {
        (self.settings.warmup + self.settings.samples) as usize
    }

    /// Before round `round`: opens the exit windows when the kept samples begin.
    fn before(&mut self, round: usize) -> Result<(), Failure> {
        if round == self.settings.warmup as usize {
            self.windows = Some(Meter::start()?);
            self.rest();
        }
        Ok(())
    }

    /// Waits until the next sample is due, then says when the one after it is.
    fn pace(&mut self) {
        sync::pace_until(self.next_due);
        self.next_due = cpu::rdtsc() + self.settings.gap_cycles;
    }

    /// After a hypercall: a whole gap before the next sample, so the other side can catch up.
    fn rest(&mut self) {
        self.next_due = self.next_due.max(cpu::rdtsc() + self.settings.gap_cycles);
    }

    /// After round `round`: keeps `value` if the round counts, closes a finished batch.
    fn after(&mut self, round: usize, value: Option<u64>) -> Result<(), Failure> {
        let Some(kept) = round.checked_sub(self.settings.warmup as usize) else {
            return Ok(());
        };
        if let Some(value) = value {
            self.taken.values.set(kept, value);
        }
        let batch = self.settings.batch.max(1) as usize;
        let last = kept + 1 == self.settings.samples as usize;
        if (kept + 1).is_multiple_of(batch) || last {
            let windows = self
                .windows
                .as_mut()
                .expect("opened at the first kept round");
            let exits = windows.lap()?;
            let first = kept / batch * ENTRIES;
            for (reason, &count) in exits.entries().iter().enumerate() {
                self.taken.windows.set(first + reason, count);
            }
            self.rest();
        }
        Ok(())
    }

    fn peer_apic_id(&self, sending_to_receiver: bool) -> Result<u32, Failure> {
        let place = match sending_to_receiver {
            true => self.probe.receiver,
            false => self.probe.sender,
        };
        sync::apic_id_of(self.info, place)
    }

    fn send(&mut self) -> Result<(), Failure> {
        let target = self.peer_apic_id(true)?;
        sync::await_ready(self.arrivals, self.probe)?;
        for round in 0..self.rounds() {
            self.before(round)?;
            self.pace();
            let stamp = cpu::rdtsc();
            apic::send_fixed(target, self.probe.vector);
            self.after(round, Some(stamp))?;
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<(), Failure> {
        sync::signal_ready(self.info, self.probe)?;
        for round in 0..self.rounds() {
            self.before(round)?;
            let stamp = self.arrivals.next(self.probe.vector, self.probe.wait)?;
            self.after(round, Some(stamp))?;
        }
        Ok(())
    }

    fn initiate(&mut self) -> Result<(), Failure> {
        let target = self.peer_apic_id(true)?;
        sync::await_ready(self.arrivals, self.probe)?;
        for round in 0..self.rounds() {
            self.before(round)?;
            self.pace();
            let sent = cpu::rdtsc();
            apic::send_fixed(target, self.probe.vector);
            let replied = self
                .arrivals
                .next(self.probe.reply_vector, self.probe.wait)?;
            self.after(round, Some(replied.wrapping_sub(sent)))?;
        }
        Ok(())
    }

    /// TSC-deadline expiries `gap_cycles` after the previous one ended: handler entry minus deadline.
    fn timer(&mut self) -> Result<(), Failure> {
        tessera_guest::timer::set_lvt(
            tessera_guest::timer::Mode::TscDeadline,
            self.probe.vector,
            false,
        );
        for round in 0..self.rounds() {
            self.before(round)?;
            let deadline = self.next_due.max(cpu::rdtsc() + self.settings.gap_cycles);
            tessera_guest::timer::arm_deadline(deadline);
            let fired = self.arrivals.next(self.probe.vector, self.probe.wait)?;
            self.next_due = fired + self.settings.gap_cycles;
            self.after(round, Some(fired.wrapping_sub(deadline)))?;
        }
        tessera_guest::timer::set_lvt(
            tessera_guest::timer::Mode::TscDeadline,
            self.probe.vector,
            true,
        );
        Ok(())
    }

    fn respond(&mut self) -> Result<(), Failure> {
        let initiator = self.peer_apic_id(false)?;
        sync::signal_ready(self.info, self.probe)?;
        for round in 0..self.rounds() {
            self.before(round)?;
            self.arrivals.next(self.probe.vector, self.probe.wait)?;
            apic::send_fixed(initiator, self.probe.reply_vector);
            self.after(round, None)?;
        }
        Ok(())
    }
}
