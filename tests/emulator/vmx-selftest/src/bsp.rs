//! CPU 0: starts CPU 1, enters VMX root, then runs the IPIv cases (IPIv offered) or the refusal
//! check (IPIv not offered), and prints the result line.

use crate::cases::CASES;
use crate::controls;
use crate::guest;
use crate::shared::{self, SENDER_PID, TARGET_STATUS};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use core::sync::atomic::Ordering;
use tessera_arch::multiboot::BootInfo;
use tessera_arch::smp::spin;
use tessera_arch::vmx::{self, Vmcs, VmxRoot};
use tessera_arch::{fatal, println, Cpu};
use tessera_vmx::select::AllowedSet;

/// APIC ID of the second CPU on the emulator board.
const TARGET_APIC_ID: u32 = 1;
const TARGET_TIMEOUT_SPINS: u64 = 50_000;

/// Runs on CPU 0.
pub fn main(cpu: Cpu, boot: BootInfo) -> ! {
    println!(
        "vmx-selftest: cpu0 APIC ID {}, {} MiB RAM",
        cpu.apic_id(),
        boot.available_bytes() >> 20
    );
    if let Err(e) = tessera_arch::smp::start_ap(1, TARGET_APIC_ID) {
        fatal(format_args!(
            "cannot start CPU 1 (APIC ID {TARGET_APIC_ID}): {e:?}"
        ));
    }
    let root = vmx::enable(shared::region())
        .unwrap_or_else(|e| fatal(format_args!("cpu0: VMX root refused: {e:?}")));
    let caps = vmx::capabilities();
    let allowed = AllowedSet::from_msrs(&caps);
    let offered = controls::ipiv_offered(&allowed);
    let offer = if offered { "offered" } else { "not offered" };
    let timer_offered = tessera_vmx::select::apic_timer_virtualization_offered(&allowed);
    let timer_offer = if timer_offered {
        "offered"
    } else {
        "not offered"
    };
    println!(
        "IA32_VMX_PROCBASED_CTLS3 = {:#x}: IPI virtualization {offer}, APIC-timer virtualization {timer_offer}",
        caps.procbased3
    );
    shared::fill_pid_table().unwrap_or_else(|e| fatal(format_args!("PID table: {e:?}")));
    wait_for_target(offered);
    println!("both CPUs in VMX root");
    let (passed, total) = run_cases(&cpu, &root, &allowed, offered);
    let (timer_passed, timer_total) = timer_cases(&root, &allowed, offered, timer_offered);
    let (passed, total) = (passed + timer_passed, total + timer_total);
    let mode = if offered { "ipiv-on" } else { "ipiv-off" };
    let timer_virt = if timer_offered { "on" } else { "off" };
    println!(
        "SUMMARY mode={mode} timer_virt={timer_virt} cpus_in_vmx_root=2 cases={total} passed={passed}"
    );
    if passed == total {
        println!("TESSERA-RESULT: pass");
    } else {
        println!(
            "TESSERA-RESULT: fail: {} of {total} cases failed",
            total - passed
        );
    }
    tessera_arch::halt_forever()
}

/// Waits until CPU 1 is in VMX root (and, with IPIv, has launched its guest and the guest runs).
fn wait_for_target(offered: bool) {
    let wanted = if offered {
        shared::TARGET_LAUNCHED
    } else {
        shared::TARGET_IN_VMX_ROOT
    };
    for _ in 0..TARGET_TIMEOUT_SPINS {
        let status = TARGET_STATUS.load(Ordering::SeqCst);
        let alive = !offered || guest::TARGET_ALIVE.load(Ordering::SeqCst) != 0;
        if status == shared::TARGET_FAILED {
            fatal(format_args!("CPU 1 failed (see its log line)"));
        }
        if status >= wanted && alive {
            return;
        }
        spin(1000);
    }
    fatal(format_args!(
        "CPU 1 did not get ready (status {})",
        TARGET_STATUS.load(Ordering::SeqCst)
    ))
}

/// The APIC-timer virtualization cases (`timer_virt`, `timer_entry`) when the control is offered,
/// its absence (`timer_off`) when it is not; (passed, total).
fn timer_cases(root: &VmxRoot, allowed: &AllowedSet, ipiv: bool, offered: bool) -> (usize, usize) {
    if offered {
        let total = crate::timer_virt::CASES + crate::timer_entry::CASES;
        let passed = crate::timer_virt::run(root, allowed, ipiv)
            + crate::timer_entry::run(root, allowed, ipiv);
        (passed, total)
    } else {
        (
            crate::timer_off::run(root, allowed, ipiv),
            crate::timer_off::CASES,
        )
    }
}

fn run_cases(cpu: &Cpu, root: &VmxRoot, allowed: &AllowedSet, offered: bool) -> (usize, usize) {
    let words = controls::select(allowed, !offered).unwrap_or_else(|m| {
        fatal(format_args!(
            "{} control bit {} not allowed",
            m.group, m.bit
        ))
    });
    SENDER_PID.set_notification(crate::cases::NOTIFICATION_VECTOR, cpu.apic_id());
    let vapic = shared::page();
    let memory = VcpuMemory {
        virtual_apic: vapic,
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: offered.then_some(&shared::PID_TABLE),
    };
    let stack = shared::page();
    let start = GuestStart {
        rip: guest::sender_entry(),
        rsp: stack.phys_addr() + 4096,
        rflags: 0x2,
        idt_base: 0,
    };
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root
        .activate(&mut vmcs)
        .unwrap_or_else(|e| fatal(format_args!("VMPTRLD: {e:?}")));
    vcpu::configure(&mut active, &words, &memory, &start)
        .unwrap_or_else(|e| fatal(format_args!("VMCS setup: {e:?}")));
    let outcome = if offered {
        crate::sender::run(&mut active, vapic).map(|p| {
            let checked = crate::entry_checks::run(root, &words);
            let xapic = crate::xapic::run(root, &words, allowed).unwrap_or_else(|why| {
                println!("xAPIC cases not run: {why}");
                0
            });
            let woken = crate::hlt_wake::run(root, &words, allowed);
            let total = CASES.len()
                + crate::entry_checks::CASES
                + crate::xapic::CASES
                + crate::hlt_wake::CASES;
            (p + checked + xapic + woken, total)
        })
    } else {
        crate::ipiv_off::run(&mut active, allowed, &words).map(|p| (p, crate::ipiv_off::CASES))
    };
    outcome.unwrap_or_else(|why| fatal(format_args!("{why}")))
}
