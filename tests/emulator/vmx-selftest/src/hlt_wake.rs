//! A virtual interrupt that is already recognized when the guest halts must wake it (SDM 29.2.2:
//! virtual-interrupt delivery wakes HLT like an external interrupt; fix 5 of ipiv.patch). A guest
//! on CPU 0 starts with IF = 0 and vector 0x40 pending (virtual IRR and RVI set before VM entry),
//! and runs `sti; hlt; vmcall`. No external interrupt comes, so only the virtual interrupt can end
//! the HLT; the VMX-preemption timer bounds the wait if it does not.

use crate::cases::FIRST_COUNTED_VECTOR;
use crate::controls::{self, Words};
use crate::guest::DELIVERIES;
use crate::ipiv_off::line;
use crate::shared::{self, PID_TABLE, SENDER_PID, TARGET_IDT};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use core::sync::atomic::Ordering;
use tessera_arch::vmx::test_hooks::PageWrite;
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Page, Vmcs, VmcsError, VmxRoot};
use tessera_vmx::select::AllowedSet;

/// How many cases `run` checks.
pub const CASES: usize = 1;
/// The pending vector (counted by the shared guest handlers, used by no other case).
const VECTOR: u8 = FIRST_COUNTED_VECTOR;
/// VMX-preemption timer start value: far more than the few instructions the guest needs.
const PREEMPTION_TIMER_VALUE: u64 = 1_000_000;
const GUEST_INTERRUPT_STATUS: u32 = 0x0810;
const PREEMPTION_TIMER_FIELD: u32 = 0x482E;
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;
const EXIT_PREEMPTION_TIMER: u64 = tessera_vmx::exit::ExitReason::PreemptionTimer as u64;

/// Runs the case on a fresh VMCS of CPU 0; returns how many passed.
pub fn run(root: &VmxRoot, words: &Words, allowed: &AllowedSet) -> usize {
    let verdict = check(root, words, allowed);
    usize::from(line("pending virtual interrupt wakes HLT", verdict))
}

fn check(
    root: &VmxRoot,
    words: &Words,
    allowed: &AllowedSet,
) -> Result<&'static str, &'static str> {
    let words = controls::with_preemption_timer(words, allowed)
        .map_err(|_| "VMX-preemption timer not allowed")?;
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root.activate(&mut vmcs).map_err(|_| "VMPTRLD failed")?;
    configure(&mut active, &words, shared::page()).map_err(|_| "VMCS setup failed")?;
    let before = deliveries();
    active.enter(&mut GuestRegisters::default()).map_err(|e| {
        log::error!("HLT guest VM entry failed: {e:?}");
        "VM entry failed"
    })?;
    let reason = active.read(0x4402).unwrap_or(u64::MAX) & 0xFFFF;
    match (reason, deliveries() - before) {
        (EXIT_VMCALL, 1) => Ok("no exit; HLT woken, handler ran once, guest reached its VMCALL"),
        (EXIT_VMCALL, _) => Err("the guest left HLT without running the handler once"),
        (EXIT_PREEMPTION_TIMER, _) => Err("HLT not woken: the VMX-preemption timer ended it"),
        (other, _) => {
            log::error!("HLT guest: exit reason {other}");
            Err("unexpected VM exit")
        }
    }
}

/// x2APIC guest with the counting IDT, IF = 0, `VECTOR` in its virtual IRR and in RVI.
fn configure(
    active: &mut ActiveVmcs,
    words: &Words,
    vapic: &'static Page,
) -> Result<(), VmcsError> {
    let memory = VcpuMemory {
        virtual_apic: vapic,
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: Some(&PID_TABLE),
    };
    let start = GuestStart {
        rip: tessera_arch::vmx::test_hooks::guests::hlt_guest(),
        rsp: shared::page().phys_addr() + 4096,
        rflags: 0x2,
        idt_base: TARGET_IDT.base(),
    };
    vcpu::configure(active, words, &memory, &start)?;
    let irr_offset = 0x200 + 0x10 * (VECTOR as usize / 32);
    vapic.store_u32(irr_offset, 1 << (VECTOR % 32));
    active.write_raw(GUEST_INTERRUPT_STATUS, VECTOR as u64)?;
    active.write_raw(PREEMPTION_TIMER_FIELD, PREEMPTION_TIMER_VALUE)
}

fn deliveries() -> u64 {
    DELIVERIES[(VECTOR - FIRST_COUNTED_VECTOR) as usize].load(Ordering::SeqCst)
}
