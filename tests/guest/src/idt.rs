//! A minimal IDT for test guests: every vector has a stub (see `cpu`); interrupts (vector 2 = NMI
//! and 32..=255) are counted per vCPU and vector and acknowledged, exceptions end the vCPU with a
//! failure naming the vector and RIP. Issue-specific guests read the counts to check delivery. A
//! guest that never enables interrupts may install the exception gates only
//! ([`install_exceptions`]), and its image then holds no interrupt stubs.

use crate::cpu::current_vcpu;
use crate::hypercall::stop;
use crate::layout::MAX_VCPUS;
use crate::status::STATUS_EXCEPTION;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

const VECTORS: usize = 256;
const NMI_VECTOR: u64 = 2;
const FIRST_INTERRUPT_VECTOR: u64 = 32;
/// Present, DPL 0, 64-bit interrupt gate (type 0xE).
const INTERRUPT_GATE: u64 = 0x8E;

/// The IDT, shared by every vCPU of the partition (same gates everywhere).
static IDT: [AtomicU64; 2 * VECTORS] = [const { AtomicU64::new(0) }; 2 * VECTORS];
/// Arrivals per vCPU and vector.
static ARRIVALS: [[AtomicU32; VECTORS]; MAX_VCPUS] =
    [const { [const { AtomicU32::new(0) }; VECTORS] }; MAX_VCPUS];
/// TSC at handler entry (read by the stub) of the latest interrupt, per vCPU (timer lateness)...
static LAST_ARRIVAL_TSC: [AtomicU64; MAX_VCPUS] = [const { AtomicU64::new(0) }; MAX_VCPUS];
/// ... and per vCPU and vector (IPI latency).
static LAST_ARRIVAL_TSC_BY_VECTOR: [[AtomicU64; VECTORS]; MAX_VCPUS] =
    [const { [const { AtomicU64::new(0) }; VECTORS] }; MAX_VCPUS];
/// Whether the exception path should only count (a test that provokes one on purpose).
static COUNT_EXCEPTIONS: AtomicBool = AtomicBool::new(false);
/// Events (vector and interrupted RIP) a vCPU logs after [`start_log`], the first
/// [`LOG_ENTRIES`] of them: where exactly a trap or interrupt arrived.
pub const LOG_ENTRIES: usize = 8;
static LOG_VECTORS: [[AtomicU32; LOG_ENTRIES]; MAX_VCPUS] =
    [const { [const { AtomicU32::new(0) }; LOG_ENTRIES] }; MAX_VCPUS];
static LOG_RIPS: [[AtomicU64; LOG_ENTRIES]; MAX_VCPUS] =
    [const { [const { AtomicU64::new(0) }; LOG_ENTRIES] }; MAX_VCPUS];
/// Events seen since [`start_log`] (also those past the first `LOG_ENTRIES`).
static LOG_EVENTS: [AtomicU32; MAX_VCPUS] = [const { AtomicU32::new(0) }; MAX_VCPUS];
/// Where an exception resumes instead of failing the vCPU (0: none armed), per vCPU: set by a
/// guarded instruction (`fault_probe`), taken by the first exception.
static RESUME_AT: [AtomicU64; MAX_VCPUS] = [const { AtomicU64::new(0) }; MAX_VCPUS];
/// The vector of the exception a guarded instruction raised, plus 1 (0: none), per vCPU.
static CAUGHT: [AtomicU32; MAX_VCPUS] = [const { AtomicU32::new(0) }; MAX_VCPUS];

/// The two words of a 64-bit interrupt gate to `handler` through code segment `selector`.
pub const fn gate(handler: u64, selector: u16) -> [u64; 2] {
    let low = (handler & 0xFFFF)
        | (selector as u64) << 16
        | INTERRUPT_GATE << 40
        | ((handler >> 16) & 0xFFFF) << 48;
    [low, handler >> 32]
}

/// Fills the IDT (idempotent: every vCPU writes the same gates) and loads it on this vCPU.
/// Interrupts stay masked until [`crate::cpu::enable_interrupts`].
pub fn install() {
    let stubs = crate::cpu::vector_stubs_address();
    let selector = crate::cpu::code_selector();
    for vector in 0..VECTORS {
        let [low, high] = gate(stubs + crate::cpu::STUB_BYTES * vector as u64, selector);
        IDT[2 * vector].store(low, Ordering::Relaxed);
        IDT[2 * vector + 1].store(high, Ordering::Relaxed);
    }
    crate::cpu::load_idt(&IDT);
}

/// As [`install`], with gates for the exceptions and NMI (vectors 0-31) only, from their own
/// stubs: for a guest that never enables interrupts. An interrupt vector would find a
/// not-present gate, which raises #NP (exception 11, reported as any unexpected exception).
#[cfg(feature = "compact")]
pub fn install_exceptions() {
    let stubs = crate::cpu::exception_stubs_address();
    let selector = crate::cpu::code_selector();
    for vector in 0..usize::from(crate::cpu::FIRST_INTERRUPT_VECTOR) {
        let [low, high] = gate(stubs + crate::cpu::STUB_BYTES * vector as u64, selector);
        IDT[2 * vector].store(low, Ordering::Relaxed);
        IDT[2 * vector + 1].store(high, Ordering::Relaxed);
    }
    crate::cpu::load_idt(&IDT);
}

/// Makes `vector` a gate that code at CPL 3 may use with INT (DPL 3) to `handler` (ring 0).
pub fn set_user_gate(vector: u8, handler: u64) {
    let [low, high] = gate(handler, crate::cpu::code_selector());
    let dpl_3 = 3u64 << 45;
    IDT[2 * usize::from(vector)].store(low | dpl_3, Ordering::Release);
    IDT[2 * usize::from(vector) + 1].store(high, Ordering::Release);
}

/// How many times `vector` arrived on vCPU `vcpu`.
pub fn arrivals(vcpu: usize, vector: u8) -> u32 {
    ARRIVALS[vcpu][usize::from(vector)].load(Ordering::Acquire)
}

/// The TSC when the latest interrupt on vCPU `vcpu` entered its handler (0 before any).
pub fn last_arrival_tsc(vcpu: usize) -> u64 {
    LAST_ARRIVAL_TSC[vcpu].load(Ordering::Acquire)
}

/// The TSC at handler entry of the latest arrival of `vector` on vCPU `vcpu` (written before the
/// arrival is counted, so a waiter that sees the count sees the stamp; 0 before any).
pub fn last_arrival_tsc_of(vcpu: usize, vector: u8) -> u64 {
    LAST_ARRIVAL_TSC_BY_VECTOR[vcpu][usize::from(vector)].load(Ordering::Acquire)
}

/// Every arrival on vCPU `vcpu` (all vectors).
pub fn total_arrivals(vcpu: usize) -> u64 {
    ARRIVALS[vcpu]
        .iter()
        .map(|count| u64::from(count.load(Ordering::Acquire)))
        .sum()
}

/// Makes exceptions count like interrupts instead of failing the vCPU (for tests that provoke them).
pub fn count_exceptions(enabled: bool) {
    COUNT_EXCEPTIONS.store(enabled, Ordering::Release);
}

/// Empties vCPU `vcpu`'s event log (call with interrupts masked and no trap pending).
pub fn start_log(vcpu: usize) {
    LOG_EVENTS[vcpu].store(0, Ordering::Release);
}

/// Events vCPU `vcpu` took since [`start_log`].
pub fn logged_events(vcpu: usize) -> u32 {
    LOG_EVENTS[vcpu].load(Ordering::Acquire)
}

/// The `n`th event (vector, interrupted RIP) vCPU `vcpu` took since [`start_log`], if logged.
pub fn logged_event(vcpu: usize, n: usize) -> Option<(u8, u64)> {
    let logged = (logged_events(vcpu) as usize).min(LOG_ENTRIES);
    (n < logged).then(|| {
        let vector = LOG_VECTORS[vcpu][n].load(Ordering::Acquire) as u8;
        (vector, LOG_RIPS[vcpu][n].load(Ordering::Acquire))
    })
}

fn log_event(vcpu: usize, vector: u64, rip: u64) {
    let n = LOG_EVENTS[vcpu].load(Ordering::Acquire) as usize;
    if n < LOG_ENTRIES {
        LOG_VECTORS[vcpu][n].store(vector as u32, Ordering::Release);
        LOG_RIPS[vcpu][n].store(rip, Ordering::Release);
    }
    LOG_EVENTS[vcpu].store(n as u32 + 1, Ordering::Release);
}

/// vCPU `vcpu`'s resume slot: a guarded instruction stores the address after itself here.
pub fn resume_slot(vcpu: usize) -> &'static AtomicU64 {
    &RESUME_AT[vcpu]
}

/// Disarms vCPU `vcpu`'s resume slot and returns the vector the guarded instruction raised.
pub fn take_caught(vcpu: usize) -> Option<u8> {
    RESUME_AT[vcpu].store(0, Ordering::Release);
    match CAUGHT[vcpu].swap(0, Ordering::AcqRel) {
        0 => None,
        vector_plus_1 => Some((vector_plus_1 - 1) as u8),
    }
}

/// Called by the common stub with the vector, the error code (0 if none), the interrupted RIP and
/// the TSC read a few instructions after entry. Returns where to resume: 0 for the interrupted
/// RIP, or the address a guarded instruction armed (the exception is then recorded, not failed).
#[no_mangle]
extern "C" fn tessera_guest_interrupt(
    vector: u64,
    error_code: u64,
    rip: u64,
    entry_tsc: u64,
) -> u64 {
    let is_exception = vector < FIRST_INTERRUPT_VECTOR && vector != NMI_VECTOR;
    if is_exception {
        let vcpu = current_vcpu();
        let resume = RESUME_AT[vcpu].swap(0, Ordering::AcqRel);
        if resume != 0 {
            CAUGHT[vcpu].store(vector as u32 + 1, Ordering::Release);
            return resume;
        }
    }
    if is_exception && !COUNT_EXCEPTIONS.load(Ordering::Acquire) {
        fail_from_exception(vector, error_code, rip);
    }
    let vcpu = current_vcpu();
    LAST_ARRIVAL_TSC[vcpu].store(entry_tsc, Ordering::Release);
    LAST_ARRIVAL_TSC_BY_VECTOR[vcpu][vector as usize % VECTORS].store(entry_tsc, Ordering::Release);
    log_event(vcpu, vector, rip);
    ARRIVALS[vcpu][vector as usize % VECTORS].fetch_add(1, Ordering::AcqRel);
    if vector >= FIRST_INTERRUPT_VECTOR {
        crate::apic::eoi();
    }
    0
}

/// An exception nobody expected: says which and where, and stops the vCPU.
fn fail_from_exception(vector: u64, error_code: u64, rip: u64) -> ! {
    crate::println!(
        "vcpu {}: fail: exception {vector} (error code {error_code:#x}) at RIP {rip:#x}",
        current_vcpu()
    );
    stop(STATUS_EXCEPTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_split_the_handler_address() {
        let [low, high] = gate(0x1234_5678_9ABC_DEF0, 0x08);
        assert_eq!(low & 0xFFFF, 0xDEF0);
        assert_eq!((low >> 16) & 0xFFFF, 0x08);
        assert_eq!((low >> 40) & 0xFF, 0x8E, "present interrupt gate");
        assert_eq!((low >> 32) & 0x7, 0, "no IST");
        assert_eq!(low >> 48, 0x9ABC);
        assert_eq!(high, 0x1234_5678);
    }
}
