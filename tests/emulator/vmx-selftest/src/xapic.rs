//! The xAPIC ICR path (CPU 0, IPIv on): a sender guest not in x2APIC mode, with "virtualize APIC
//! accesses", APIC-register virtualization, virtual-interrupt delivery, posted interrupts and IPIv,
//! writes ICR_HI (310H) then ICR_LO (300H) on its APIC-access page. Guests run on the host's
//! identity-mapped page tables (no EPT), so the guest reaches that page at its physical address.

use crate::controls::{self, Words};
use crate::delivery::{DELIVERY_TIMEOUT_SPINS, QUIET_SPINS};
use crate::guest::DELIVERIES;
use crate::ipiv_off::line;
use crate::sender::skip_instruction;
use crate::shared::{self, PID_TABLE, SENDER_PID, TARGET_EXITS, TARGET_PID};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use core::sync::atomic::Ordering;
use tessera_arch::smp::spin;
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Page, Vmcs, VmxRoot};
use tessera_vmx::select::AllowedSet;

/// The guest's APIC-access page (never touched by the host).
static APIC_ACCESS: Page = Page::zeroed();
const APIC_ACCESS_ADDRESS_FIELD: u32 = 0x2014;
const EXIT_EXTERNAL_INTERRUPT: u64 = tessera_vmx::exit::ExitReason::ExternalInterrupt as u64;
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;
const EXIT_APIC_WRITE: u64 = tessera_vmx::exit::ExitReason::ApicWrite as u64;
const ICR_LO: usize = 0x300;
const ICR_HI: usize = 0x310;
const FIRST_COUNTED_VECTOR: u8 = crate::cases::FIRST_COUNTED_VECTOR;

/// One xAPIC case: the 8-bit virtual APIC ID for ICR_HI[31:24], the ICR_LO value, the outcome.
struct XapicCase {
    name: &'static str,
    dest: u8,
    low: u32,
    delivered: bool,
}

const TARGET: u8 = crate::cases::TARGET_VAPIC_ID as u8;
const XAPIC_CASES: [XapicCase; 3] = [
    XapicCase {
        name: "xAPIC valid unicast delivers without exit",
        dest: TARGET,
        low: 0x4E,
        delivered: true,
    },
    XapicCase {
        name: "xAPIC vector below 16 exits",
        dest: TARGET,
        low: 0x0F,
        delivered: false,
    },
    XapicCase {
        name: "xAPIC logical destination exits",
        dest: TARGET,
        low: 1 << 11 | 0x4F,
        delivered: false,
    },
];
/// How many cases `run` checks.
pub const CASES: usize = XAPIC_CASES.len();

/// APIC-write exits between two VMCALLs.
#[derive(Default)]
struct Exits {
    count: u32,
    qualification: u64,
    rip: u64,
}

/// Runs the xAPIC cases on a fresh VMCS; returns how many passed.
pub fn run(root: &VmxRoot, words: &Words, allowed: &AllowedSet) -> Result<usize, &'static str> {
    let words = controls::xapic(words, allowed).map_err(|_| "xAPIC controls not allowed")?;
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root.activate(&mut vmcs).map_err(|_| "VMPTRLD failed")?;
    let vapic = shared::page();
    configure(&mut active, &words, vapic).map_err(|_| "xAPIC VMCS setup failed")?;
    let mut regs = GuestRegisters::default();
    run_to_vmcall(&mut active, &mut regs)?;
    let mut passed = 0;
    for case in &XAPIC_CASES {
        let verdict = run_case(&mut active, &mut regs, case, vapic)?;
        passed += usize::from(line(case.name, verdict));
    }
    Ok(passed)
}

/// Hands the guest the case's ICR values, runs it to its next VMCALL and judges the outcome.
fn run_case(
    active: &mut ActiveVmcs,
    regs: &mut GuestRegisters,
    case: &XapicCase,
    vapic: &Page,
) -> Result<Result<&'static str, &'static str>, &'static str> {
    regs.rdi = APIC_ACCESS.phys_addr();
    regs.rdx = (case.dest as u64) << 24;
    regs.rax = case.low as u64;
    let rip = active.read(0x681E).map_err(|_| "cannot read guest RIP")?;
    skip_instruction(active, rip)?;
    let target_exits_before = TARGET_EXITS.load(Ordering::SeqCst);
    let exits = run_to_vmcall(active, regs)?;
    let mut verdict = judge(case, &exits, vapic);
    if TARGET_EXITS.load(Ordering::SeqCst) != target_exits_before {
        verdict = Err("the target guest took a VM exit");
    }
    TARGET_PID.take_pending();
    Ok(verdict)
}

fn configure(
    active: &mut ActiveVmcs,
    words: &Words,
    vapic: &'static Page,
) -> Result<(), tessera_arch::vmx::VmcsError> {
    let memory = VcpuMemory {
        virtual_apic: vapic,
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: Some(&PID_TABLE),
    };
    let start = GuestStart {
        rip: tessera_arch::vmx::test_hooks::guests::xapic_sender(),
        rsp: shared::page().phys_addr() + 4096,
        rflags: 0x2,
        idt_base: 0,
    };
    vcpu::configure(active, words, &memory, &start)?;
    active.set_page(APIC_ACCESS_ADDRESS_FIELD, &APIC_ACCESS)
}

/// Enters the guest until its next VMCALL, recording APIC-write exits on the way.
fn run_to_vmcall(
    active: &mut ActiveVmcs,
    regs: &mut GuestRegisters,
) -> Result<Exits, &'static str> {
    let mut exits = Exits::default();
    loop {
        active.enter(regs).map_err(|e| {
            log::error!("xAPIC sender VM entry failed: {e:?}");
            "xAPIC sender VM entry failed"
        })?;
        let reason = active.read(0x4402).unwrap_or(u64::MAX) & 0xFFFF;
        let rip = active.read(0x681E).unwrap_or(0);
        match reason {
            EXIT_VMCALL => return Ok(exits),
            EXIT_EXTERNAL_INTERRUPT => log::warn!("xAPIC sender: external interrupt (resumed)"),
            EXIT_APIC_WRITE => {
                exits.count += 1;
                exits.qualification = active.read(0x6400).unwrap_or(u64::MAX);
                exits.rip = rip;
            }
            other => {
                log::error!("xAPIC sender: exit reason {other} at RIP {rip:#x}");
                return Err("unexpected VM exit in the xAPIC sender guest");
            }
        }
    }
}

fn deliveries(vector: u8) -> u64 {
    let index = vector.wrapping_sub(FIRST_COUNTED_VECTOR) as usize;
    DELIVERIES
        .get(index)
        .map_or(0, |d| d.load(Ordering::SeqCst))
}

fn judge(case: &XapicCase, exits: &Exits, vapic: &Page) -> Result<&'static str, &'static str> {
    if vapic.read_u32(ICR_HI) != (case.dest as u32) << 24 || vapic.read_u32(ICR_LO) != case.low {
        log::error!(
            "virtual ICR_HI {:#x} ICR_LO {:#x}",
            vapic.read_u32(ICR_HI),
            vapic.read_u32(ICR_LO)
        );
        return Err("the virtual ICR (310H, 300H) does not hold the written values");
    }
    if case.delivered {
        judge_delivered(case, exits)
    } else {
        judge_exit(case, exits)
    }
}

fn judge_delivered(case: &XapicCase, exits: &Exits) -> Result<&'static str, &'static str> {
    if exits.count != 0 {
        return Err("the sender took an APIC-write exit");
    }
    let vector = case.low as u8;
    for _ in 0..DELIVERY_TIMEOUT_SPINS / 1000 {
        if deliveries(vector) >= 1 {
            break;
        }
        spin(1000);
    }
    spin(QUIET_SPINS);
    match deliveries(vector) {
        0 => Err("the target guest never saw the vector"),
        1 => Ok("no exit, 310H and 300H virtualized, target handler ran once"),
        _ => Err("the target guest saw the vector more than once"),
    }
}

fn judge_exit(case: &XapicCase, exits: &Exits) -> Result<&'static str, &'static str> {
    spin(QUIET_SPINS);
    if exits.count != 1 {
        return Err(if exits.count == 0 {
            "no APIC-write exit"
        } else {
            "more than one APIC-write exit (the 310H write must not exit)"
        });
    }
    if exits.qualification & 0xFFF != ICR_LO as u64 {
        log::error!("qualification {:#x}", exits.qualification);
        return Err("exit qualification is not 300H");
    }
    if exits.rip != tessera_arch::vmx::test_hooks::guests::xapic_after_icr() {
        return Err("not trap-like: RIP is not after the write to 300H");
    }
    let vector = case.low as u8;
    if vector >= 16 && TARGET_PID.pending(vector) || deliveries(vector) != 0 {
        return Err("the IPI was posted or delivered anyway");
    }
    Ok("exit 56, qualification 300H, RIP after the 300H write, VICR written")
}
