//! What other CPUs may see of a vCPU: its run state, run record (exit counters and console line,
//! held by the running vCPU and read once it stopped), denied-IPI count, console bytes printed and
//! refused, and its posted-interrupt descriptor (for senders that post into it). Indexed by the
//! vCPU's position in plan order (`PLAN.vcpus()`).

use crate::outcome::VcpuEnd;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use tessera_arch::fixed_heap::StackProbe;
use tessera_arch::sync::{SpinGuard, SpinLock};
use tessera_vmx::console::budget::LINE_TEXT_MAX_BYTES;
use tessera_vmx::console::LineBuffer;
use tessera_vmx::exit::{ExitCounters, StopReason};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// vCPUs in the plan (one per physical CPU).
pub const VCPUS: usize = crate::plan::VCPUS;

/// Run states.
const WAITING: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const STOPPED: u8 = 3;
const FAULTED: u8 = 4;

/// What a vCPU keeps while it runs: its exit counters by basic reason and its unfinished console
/// line. The vCPU holds the lock from its creation until it stops (`Shared::take_record`), so its
/// exit path counts without taking a lock and its host stack does not carry them; the summary
/// reads the counters once the vCPU let go.
pub struct RunRecord {
    pub counters: ExitCounters,
    pub console_line: LineBuffer<LINE_TEXT_MAX_BYTES>,
}

/// One vCPU's shared state.
pub struct Shared {
    state: AtomicU8,
    init_seen: AtomicBool,
    nmi_pending: AtomicBool,
    status: AtomicU64,
    denied_ipis: AtomicU64,
    console_bytes: AtomicU64,
    console_dropped_bytes: AtomicU64,
    /// A stop another vCPU of the partition asked for (a Hermit exit): `code << 16 | vcpu`, with
    /// bit 63 set while pending.
    stop_request: AtomicU64,
    record: SpinLock<RunRecord>,
    pid: SpinLock<Option<&'static PostedInterruptDescriptor>>,
    stack: SpinLock<Option<StackProbe>>,
}

impl Shared {
    const fn new() -> Self {
        Self {
            state: AtomicU8::new(WAITING),
            init_seen: AtomicBool::new(false),
            nmi_pending: AtomicBool::new(false),
            status: AtomicU64::new(0),
            denied_ipis: AtomicU64::new(0),
            console_bytes: AtomicU64::new(0),
            console_dropped_bytes: AtomicU64::new(0),
            stop_request: AtomicU64::new(0),
            record: SpinLock::new(RunRecord {
                counters: ExitCounters::new(),
                console_line: LineBuffer::new(),
            }),
            pid: SpinLock::new(None),
            stack: SpinLock::new(None),
        }
    }
}

/// Bits of `Shared::stop_request`: a request is pending; it is for a sibling's fault.
const STOP_PENDING: u64 = 1 << 63;
const STOP_FAULT: u64 = 1 << 62;

static SHARED: [Shared; VCPUS] = [const { Shared::new() }; VCPUS];
/// vCPUs launched (or about to be) and not yet stopped.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The shared state of vCPU `index` (plan order).
pub fn of(index: usize) -> &'static Shared {
    &SHARED[index]
}

/// Every vCPU's posted-interrupt descriptor, in plan order. The boot CPU sets them all before it
/// hands out the first launch, so a vCPU that copies them when it is created posts without taking
/// a lock.
pub fn descriptors() -> [Option<&'static PostedInterruptDescriptor>; VCPUS] {
    core::array::from_fn(|index| of(index).pid())
}

impl Shared {
    /// Marks a boot vCPU as running before any CPU launches (so the end is not seen too early).
    pub fn start_at_boot(&self) {
        self.state.store(RUNNING, Ordering::SeqCst);
        ACTIVE.fetch_add(1, Ordering::SeqCst);
    }

    /// Records INIT for a waiting vCPU; false if it is not waiting.
    pub fn init(&self) -> bool {
        let waiting = self.state.load(Ordering::SeqCst) == WAITING;
        if waiting {
            self.init_seen.store(true, Ordering::SeqCst);
        }
        waiting
    }

    /// SIPI after INIT: the waiting vCPU starts (counted active before the sender goes on).
    pub fn start_up(&self) -> bool {
        if !self.init_seen.load(Ordering::SeqCst) {
            return false;
        }
        let started = self
            .state
            .compare_exchange(WAITING, STARTING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if started {
            ACTIVE.fetch_add(1, Ordering::SeqCst);
        }
        started
    }

    /// Whether a SIPI has released this waiting vCPU (it then runs).
    pub fn take_start(&self) -> bool {
        self.state
            .compare_exchange(STARTING, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Marks the vCPU stopped; returns true when it was the last active one.
    pub fn finish(&self, end: VcpuEnd) -> bool {
        let state = match end {
            VcpuEnd::Stopped { status } => {
                self.status.store(status, Ordering::SeqCst);
                STOPPED
            }
            VcpuEnd::Faulted => FAULTED,
            VcpuEnd::NeverStarted => WAITING,
        };
        self.state.store(state, Ordering::SeqCst);
        ACTIVE.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Marks a vCPU that could not be set up as faulted; true when it was the last active one.
    pub fn fail(&self) -> bool {
        match self.state.swap(FAULTED, Ordering::SeqCst) {
            STARTING | RUNNING => ACTIVE.fetch_sub(1, Ordering::SeqCst) == 1,
            _ => false,
        }
    }

    /// How the vCPU ended (valid once no vCPU is active).
    pub fn end(&self) -> VcpuEnd {
        match self.state.load(Ordering::SeqCst) {
            STOPPED => VcpuEnd::Stopped {
                status: self.status.load(Ordering::SeqCst),
            },
            FAULTED => VcpuEnd::Faulted,
            _ => VcpuEnd::NeverStarted,
        }
    }

    /// Leaves an NMI for the vCPU's next VM entry; false if the vCPU is not running (as on bare
    /// metal, a CPU waiting for SIPI ignores NMI).
    pub fn post_nmi(&self) -> bool {
        let running = self.state.load(Ordering::SeqCst) == RUNNING;
        if running {
            self.nmi_pending.store(true, Ordering::SeqCst);
        }
        running
    }

    /// Takes a pending NMI.
    pub fn take_nmi(&self) -> bool {
        self.nmi_pending.swap(false, Ordering::SeqCst)
    }

    /// Puts back an NMI that could not be injected yet.
    pub fn keep_nmi(&self) {
        self.nmi_pending.store(true, Ordering::SeqCst);
    }

    /// Asks the vCPU to stop at its next VM entry because its Hermit partition ends: the
    /// application exited (`PartitionExit`) or a sibling faulted (`PartitionFault`); other reasons
    /// are ignored. The caller kicks the vCPU's CPU out of the guest.
    pub fn request_stop(&self, reason: StopReason) {
        let word = match reason {
            StopReason::PartitionExit { code, vcpu } => {
                STOP_PENDING | u64::from(code as u32) << 16 | u64::from(vcpu)
            }
            StopReason::PartitionFault { vcpu } => STOP_PENDING | STOP_FAULT | u64::from(vcpu),
            _ => return,
        };
        self.stop_request.store(word, Ordering::SeqCst);
    }

    /// The stop another vCPU asked for, once.
    pub fn take_stop_request(&self) -> Option<StopReason> {
        let word = self.stop_request.swap(0, Ordering::SeqCst);
        let vcpu = word as u16;
        match (word & STOP_PENDING != 0, word & STOP_FAULT != 0) {
            (false, _) => None,
            (true, true) => Some(StopReason::PartitionFault { vcpu }),
            (true, false) => Some(StopReason::PartitionExit {
                code: (word >> 16) as u32 as i32,
                vcpu,
            }),
        }
    }

    pub fn count_denied_ipi(&self) {
        self.denied_ipis.fetch_add(1, Ordering::Relaxed);
    }

    pub fn denied_ipis(&self) -> u64 {
        self.denied_ipis.load(Ordering::Relaxed)
    }

    /// Counts a console write: `accepted` bytes taken, `dropped` refused by the rate limit.
    pub fn count_console(&self, accepted: u64, dropped: u64) {
        self.console_bytes.fetch_add(accepted, Ordering::Relaxed);
        self.console_dropped_bytes
            .fetch_add(dropped, Ordering::Relaxed);
    }

    /// Console bytes taken and refused so far.
    pub fn console_bytes(&self) -> (u64, u64) {
        (
            self.console_bytes.load(Ordering::Relaxed),
            self.console_dropped_bytes.load(Ordering::Relaxed),
        )
    }

    /// The run record, for the vCPU about to run (once: `None` while another holder has it).
    pub fn take_record(&'static self) -> Option<SpinGuard<'static, RunRecord>> {
        self.record.try_lock()
    }

    /// Runs `f` on the vCPU's exit counters, in place (no copy on the caller's stack): all zero
    /// before it ran, final once it stopped; `None` while the vCPU still holds them (a CPU that
    /// halted on a host fault never lets go).
    pub fn with_counters<R>(&self, f: impl FnOnce(&ExitCounters) -> R) -> Option<R> {
        self.record.try_lock().map(|record| f(&record.counters))
    }

    pub fn set_pid(&self, pid: &'static PostedInterruptDescriptor) {
        *self.pid.lock() = Some(pid);
    }

    pub fn pid(&self) -> Option<&'static PostedInterruptDescriptor> {
        *self.pid.lock()
    }

    /// Records the host stack the vCPU's CPU runs on (for the depth report).
    pub fn set_stack_probe(&self, probe: StackProbe) {
        *self.stack.lock() = Some(probe);
    }

    /// Deepest use of the vCPU's host stack so far, and its size, in bytes.
    pub fn stack_use(&self) -> Option<(usize, usize)> {
        let probe = (*self.stack.lock())?;
        Some((
            probe.size_bytes() - probe.untouched_bytes(),
            probe.size_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test touching `SHARED`/`ACTIVE` (they are process-wide).
    #[test]
    fn start_up_needs_init_and_the_last_stop_is_reported_once() {
        let (boot, waiting) = (of(0), of(1));
        boot.start_at_boot();
        assert!(!waiting.post_nmi(), "a waiting vCPU ignores NMI");
        assert!(!waiting.start_up(), "SIPI without INIT is ignored");
        assert!(waiting.init());
        assert!(waiting.start_up());
        assert!(!waiting.start_up(), "the second SIPI finds it started");
        assert!(waiting.take_start());
        assert!(!waiting.init(), "INIT to a running vCPU is ignored");
        assert!(waiting.post_nmi() && waiting.take_nmi() && !waiting.take_nmi());
        assert!(!boot.finish(VcpuEnd::Stopped { status: 0 }));
        assert!(waiting.finish(VcpuEnd::Faulted), "the last active vCPU");
        assert_eq!(boot.end(), VcpuEnd::Stopped { status: 0 });
        assert_eq!(waiting.end(), VcpuEnd::Faulted);
        assert_eq!(of(2).end(), VcpuEnd::NeverStarted);
        assert!(!of(2).fail(), "a vCPU that never ran is not active");
        assert_eq!(of(2).take_stop_request(), None);
        let exit = StopReason::PartitionExit { code: -3, vcpu: 1 };
        of(2).request_stop(exit);
        assert_eq!(of(2).take_stop_request(), Some(exit));
        assert_eq!(of(2).take_stop_request(), None, "taken once");
        let fault = StopReason::PartitionFault { vcpu: 0 };
        of(2).request_stop(fault);
        assert_eq!(of(2).take_stop_request(), Some(fault));
        of(2).request_stop(StopReason::TripleFault);
        assert_eq!(of(2).take_stop_request(), None, "only partition stops");
    }
}
