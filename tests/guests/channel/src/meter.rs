//! VM exits of a stretch of guest code, read through the exit-count hypercall before and after
//! it (the snapshots' own VMCALLs measured once and taken out), and whether IPIv is on.

use tessera_guest::hypercall::{exit_count, total_exits};
use tessera_guest::{apic, cpu, Failure};

/// Basic exit reasons of an ICR write that left the guest: WRMSR, APIC write.
const EXIT_WRMSR: u32 = 32;
const EXIT_APIC_WRITE: u32 = 56;
/// Basic exit reason of VMCALL.
const EXIT_VMCALL: u32 = 18;

/// Exits of a measured stretch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exits {
    /// ICR writes that left the guest.
    pub send: u64,
    /// VMCALLs made inside the stretch.
    pub vmcall: u64,
    /// Every other exit.
    pub other: u64,
}

impl Exits {
    pub fn total(&self) -> u64 {
        self.send + self.vmcall + self.other
    }
}

#[derive(Clone, Copy)]
pub struct Snapshot {
    total: u64,
    send: u64,
    vmcall: u64,
}

/// Reads counters with the snapshots' own exits calibrated out.
pub struct Meter {
    overhead: u64,
}

fn failed(e: tessera_guest::hypercall::HypercallError) -> Failure {
    Failure::new(format_args!("exit-count hypercall failed: {e:?}"))
}

fn snapshot() -> Result<Snapshot, Failure> {
    let total = total_exits().map_err(failed)?;
    let send =
        exit_count(EXIT_WRMSR).map_err(failed)? + exit_count(EXIT_APIC_WRITE).map_err(failed)?;
    let vmcall = exit_count(EXIT_VMCALL).map_err(failed)?;
    Ok(Snapshot {
        total,
        send,
        vmcall,
    })
}

impl Meter {
    pub fn calibrate() -> Result<Meter, Failure> {
        let a = snapshot()?;
        let b = snapshot()?;
        Ok(Meter {
            overhead: b.vmcall - a.vmcall,
        })
    }

    pub fn start(&self) -> Result<Snapshot, Failure> {
        snapshot()
    }

    pub fn stop(&self, before: Snapshot) -> Result<Exits, Failure> {
        let after = snapshot()?;
        let send = after.send - before.send;
        let vmcall = (after.vmcall - before.vmcall).saturating_sub(self.overhead);
        let total = (after.total - before.total).saturating_sub(self.overhead);
        Ok(Exits {
            send,
            vmcall,
            other: total.saturating_sub(send + vmcall),
        })
    }
}

/// Whether IPIv is on: a fixed IPI to this vCPU's own APIC ID stays in the guest only with it
/// (the interrupt is left pending, masked, and taken at the next halt: one spurious wake-up).
pub fn ipiv_on(meter: &Meter) -> Result<bool, Failure> {
    let before = meter.start()?;
    apic::send_fixed(apic::apic_id(), 0x21);
    let exits = meter.stop(before)?;
    cpu::enable_interrupts();
    cpu::disable_interrupts();
    Ok(exits.send == 0)
}

/// `on` / `off`.
pub fn name(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// `x.yyy` for `numerator / denominator`, in thousandths.
pub struct Ratio(pub u64, pub u64);

impl core::fmt::Display for Ratio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let milli = self.0.saturating_mul(1000) / self.1.max(1);
        write!(f, "{}.{:03}", milli / 1000, milli % 1000)
    }
}
