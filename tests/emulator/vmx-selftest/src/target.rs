//! CPU 1: VMX root, then the target guest, which only receives posted interrupts. Every VM exit is
//! counted (none is expected) and the guest resumed, except ones that end it.

use crate::cases::TARGET_VAPIC_ID;
use crate::controls;
use crate::guest;
use crate::shared::{self, TARGET_EXITS, TARGET_IDT, TARGET_LAST_EXIT, TARGET_PID};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use core::sync::atomic::Ordering;
use tessera_arch::vmx::{self, GuestRegisters, Vmcs, VmxRoot};
use tessera_arch::Cpu;
use tessera_vmx::select::AllowedSet;

/// Basic exit reason: external interrupt (not the notification vector).
const EXIT_EXTERNAL_INTERRUPT: u64 = tessera_vmx::exit::ExitReason::ExternalInterrupt as u64;

/// Runs on CPU 1 for good.
pub fn main(cpu: Cpu) -> ! {
    let root = match vmx::enable(shared::region()) {
        Ok(root) => root,
        Err(e) => fail(format_args!("cpu{}: VMX root refused: {e:?}", cpu.index())),
    };
    shared::set_target_status(shared::TARGET_IN_VMX_ROOT);
    log::info!("target CPU (APIC ID {}) in VMX root", cpu.apic_id());
    let allowed = AllowedSet::from_msrs(&vmx::capabilities());
    if !controls::ipiv_offered(&allowed) {
        probe_fields(&root);
        tessera_arch::halt_forever();
    }
    if let Err(why) = run_guest(&cpu, &root, &allowed) {
        fail(format_args!("target guest: {why}"));
    }
    tessera_arch::halt_forever()
}

fn run_guest(cpu: &Cpu, root: &VmxRoot, allowed: &AllowedSet) -> Result<(), &'static str> {
    let words = controls::select(allowed, false).map_err(|_| "a needed control is not allowed")?;
    TARGET_PID.set_notification(crate::cases::NOTIFICATION_VECTOR, cpu.apic_id());
    TARGET_IDT.install_counters();
    let memory = VcpuMemory {
        virtual_apic: &shared::TARGET_VAPIC,
        msr_bitmap: shared::page(),
        pid: &TARGET_PID,
        pid_table: Some(&shared::PID_TABLE),
    };
    let stack = shared::page();
    let start = GuestStart {
        rip: guest::target_entry(),
        rsp: stack.phys_addr() + 4096,
        rflags: 0x2,
        idt_base: TARGET_IDT.base(),
    };
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root
        .activate(&mut vmcs)
        .map_err(|_| "VMCLEAR/VMPTRLD failed")?;
    vcpu::configure(&mut active, &words, &memory, &start).map_err(|_| "VMCS setup failed")?;
    log::info!("target guest: virtual APIC ID {TARGET_VAPIC_ID}, launching");
    shared::set_target_status(shared::TARGET_LAUNCHED);
    let mut regs = GuestRegisters::default();
    loop {
        if let Err(e) = active.enter(&mut regs) {
            log::error!("target VM entry failed: {e:?}");
            return Err("VM entry failed");
        }
        let reason = active.read(0x4402).unwrap_or(u64::MAX) & 0xFFFF;
        TARGET_EXITS.fetch_add(1, Ordering::SeqCst);
        TARGET_LAST_EXIT.store(reason, Ordering::SeqCst);
        if reason != EXIT_EXTERNAL_INTERRUPT {
            let rip = active.read(0x681E).unwrap_or(0);
            log::error!("target guest exit reason {reason} at RIP {rip:#x}; guest stopped");
            return Err("unexpected VM exit");
        }
    }
}

/// Without IPIv: reports whether this CPU (not only CPU 0) refuses the PID-pointer table fields.
fn probe_fields(root: &VmxRoot) {
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    match root.activate(&mut vmcs) {
        Ok(mut active) => crate::field_probe::publish_cpu1(crate::field_probe::probe(&mut active)),
        Err(e) => fail(format_args!("cpu1: VMCLEAR/VMPTRLD failed: {e:?}")),
    }
}

fn fail(why: core::fmt::Arguments) -> ! {
    shared::set_target_status(shared::TARGET_FAILED);
    log::error!("{why}");
    tessera_arch::halt_forever()
}
