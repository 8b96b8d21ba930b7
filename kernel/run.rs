//! One vCPU's life on its own CPU: VMX root, VMCS, (for a vCPU started later) the wait for its
//! partition's INIT/SIPI, then enter / handle exit / enter until the guest stops or is stopped, and
//! the verdict once the last vCPU stopped. Above the exit handlers and `vcpu`; below `boot`.

use crate::exit::{self, Flow};
use crate::outcome::VcpuEnd;
use crate::partition::hermit::{entry_registers, EntryRegisters};
use crate::plan::PLAN;
use crate::vcpu::launch;
use crate::vcpu::timer;
use crate::vcpu::{shared, vmcs, Vcpu, VcpuStart};
use tessera_arch::vmx::fields::EntryInterruptionInfo;
use tessera_arch::vmx::{self, Vmcs, VmcsError};
use tessera_manifest::heap_items::grants_ports;
use tessera_vmx::exit::{
    instruction_error_text, ExitReasonField, InterruptionInfo, StopReason, StopReport,
};
use tessera_vmx::fields::{
    Field32Control as C32, Field32Guest as G32, Field32ReadOnly as R32, NaturalGuest as GN,
};
use tessera_vmx::select::{PortExiting, SelectedControls};
use tessera_vmx::tables::PostedInterruptDescriptor;

/// Where a vCPU's CPU lands on its host stack (`index` = plan-order position).
pub extern "C" fn vcpu_main(index: u64) -> ! {
    let index = index as usize;
    let (p, v, plan_vcpu) = PLAN
        .vcpus()
        .nth(index)
        .expect("vCPU index from the boot CPU");
    let at = (index, p, v);
    let regions = crate::heap::take_vcpu_regions(index);
    let root = vmx::enable(regions.vmxon)
        .unwrap_or_else(|e| fail(index, p, v, format_args!("VMX root refused: {e}")));
    check_host_stack_guard(index, (p, v), &root);
    #[cfg(feature = "host-stack-overflow-test")]
    overflow_last_host_stack_on_purpose(index);
    let mut region = Vmcs::new(regions.vmcs, root.revision_id());
    let start = prepare(&root, &mut region, at, plan_vcpu.starts_at_boot);
    let stopped = run_until_stopped(start);
    // Logged and counted here, once the run loop's frames are gone from the host stack.
    if finish(stopped) {
        crate::summary::print();
    }
    tessera_arch::halt_forever()
}

/// Activates and fills the vCPU's VMCS, waits for its start (a vCPU started later) and returns
/// what its `Vcpu` is built from. Not inlined: what it sets up from (the launch data, the
/// controls) is gone from the host stack before the vCPU runs, and the `Vcpu` is not yet on it.
#[inline(never)]
fn prepare<'a>(
    root: &'a vmx::VmxRoot,
    region: &'a mut Vmcs,
    (index, p, v): (usize, u16, u16),
    starts_at_boot: bool,
) -> VcpuStart<'a> {
    let Some(launch) = launch::take(index) else {
        fail(index, p, v, format_args!("no launch data"))
    };
    let mut active = root
        .activate(region)
        .unwrap_or_else(|e| fail(index, p, v, format_args!("VMPTRLD: {e}")));
    let (controls, entry) = configure(&mut active, &launch, (index, p, v));
    if !starts_at_boot {
        wait_for_start_up(index);
    }
    // Translations this CPU may hold for the EPTP from before (firmware, an earlier boot) go.
    if let Err(e) = vmx::invept(Some(launch.ept.eptp())) {
        fail(index, p, v, format_args!("INVEPT single-context: {e}"))
    }
    notify_if_posted_before_entry(launch.pid);
    VcpuStart {
        vmcs: active,
        at: (index, p, v),
        virtual_apic: launch.pages.virtual_apic,
        pid: launch.pid,
        guest_memory: launch.guest_memory,
        preemption_timer_rate: controls.preemption_timer_rate,
        rdi: entry.rdi,
        rsi: entry.rsi,
    }
}

/// Fills the vCPU's VMCS; returns its controls and first-entry registers. Not inlined: its
/// frames (the field writes) are gone before the vCPU runs.
#[inline(never)]
fn configure(
    active: &mut vmx::ActiveVmcs,
    launch: &launch::Launch,
    (index, p, v): (usize, u16, u16),
) -> (SelectedControls, EntryRegisters) {
    let controls = launch::controls().expect("controls are chosen before any AP starts");
    let part = &PLAN.partitions[p as usize];
    let layout = &launch.layout;
    let rip = vmcs::entry_point(part).unwrap_or(0);
    let entry = entry_registers(part, v, layout.boot_info_guest(v as u64));
    let controls = match launch::timer_virtualized(p) {
        true => controls.with_timer_virtualization(),
        false => controls,
    };
    let controls = controls.with_port_exiting(PortExiting::for_partition(grants_ports(part)));
    if let Err(e) = vmcs::configure(active, launch, &controls, layout, (rip, &entry)) {
        fail(index, p, v, format_args!("VMCS: {e}"))
    }
    (controls, entry)
}

/// How a vCPU's run ended, kept once its `Vcpu` is gone.
struct Stopped {
    index: usize,
    partition: u16,
    report: StopReport<'static>,
}

/// Builds the vCPU and runs it until it stops; the `Vcpu` (and with it the hold on its run
/// record) lives in this frame only and is gone when this returns. Not inlined: the run loop's
/// locals live in this frame only.
#[inline(never)]
fn run_until_stopped(start: VcpuStart) -> Stopped {
    let mut vcpu = Vcpu::new(start);
    let reason = run(&mut vcpu);
    stop(&mut vcpu, reason)
}

/// Halts until the partition's guest releases this vCPU with INIT and SIPI. The SIPI's handler
/// marks the start, then sends `ipi::WAKE_VECTOR` here; STI;HLT cannot miss it. Interrupts taken
/// meanwhile are only acknowledged (tessera-arch's gates), including posted-interrupt
/// notifications for this vCPU (see `notify_if_posted_before_entry`).
fn wait_for_start_up(index: usize) {
    let me = shared::of(index);
    while !me.take_start() {
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    }
    // A wake-up that arrived after the start was seen is taken here, not as an exit of the guest.
    x86_64::instructions::interrupts::enable();
    x86_64::instructions::nop();
    x86_64::instructions::interrupts::disable();
}

/// Before a vCPU's first VM entry: if something was posted to it already (ON set), its notification
/// went to a CPU that could not keep it (still waiting for the boot CPU's INIT-SIPI, whose INIT
/// clears the local APIC, or halted for the guest's SIPI with host vectors only acknowledged), and
/// the senders that found ON set sent none. It is sent again to this CPU, where it stays pending
/// (interrupts off) until the VM entry and is then processed as a posted interrupt.
fn notify_if_posted_before_entry(pid: &PostedInterruptDescriptor) {
    if pid.outstanding() {
        let own = tessera_arch::apic::apic_id();
        let icr = tessera_arch::apic::icr_fixed(own, pid.notification_vector());
        tessera_arch::apic::send_ipi(icr);
    }
}

/// Enters the guest until an exit handler stops it.
fn run(vcpu: &mut Vcpu) -> StopReason {
    crate::timing::first_entry_reached();
    loop {
        if let Some(why) = shared::of(vcpu.index).take_stop_request() {
            return why;
        }
        inject_pending_nmi(vcpu);
        timer::before_entry(vcpu);
        if let Some(why) = vcpu.take_vmcs_failure() {
            return why;
        }
        if let Err(e) = vcpu.vmcs.enter(&mut vcpu.regs) {
            return entry_error(e);
        }
        let reason = ExitReasonField(vcpu.read(R32::ExitReason.encoding()) as u32);
        if let Some(why) = vcpu.take_vmcs_failure() {
            return why;
        }
        vcpu.record.counters.record(reason.basic());
        if let Flow::Stop(why) = exit::dispatch(vcpu, reason) {
            return why;
        }
    }
}

/// Injects an NMI another vCPU (or this one) sent, unless an event is already being injected or
/// the guest blocks NMIs: then it stays pending and NMI-window exiting brings the vCPU back as soon
/// as the guest can take it (see `exit::nmi_window`).
fn inject_pending_nmi(vcpu: &mut Vcpu) {
    let state = shared::of(vcpu.index);
    if !state.take_nmi() {
        return;
    }
    const VALID: u64 = 1 << 31;
    /// Blocking by STI, by MOV SS, by NMI (virtual-NMI blocking with "virtual NMIs").
    const BLOCKING: u64 = 1 << 0 | 1 << 1 | 1 << 3;
    let injecting = vcpu.read(C32::EntryInterruptionInfo.encoding()) & VALID != 0;
    let blocked = vcpu.read(G32::InterruptibilityState.encoding()) & BLOCKING != 0;
    if injecting || blocked {
        state.keep_nmi();
        vcpu.set_nmi_window_exiting(true);
        return;
    }
    let nmi = InterruptionInfo::inject_nmi();
    vcpu.write(EntryInterruptionInfo, nmi);
}

/// A VMLAUNCH/VMRESUME that failed before entering: its VM-instruction error is kept in the stop
/// reason (0 for VMfailInvalid, which has none), its text logged on a line of its own.
fn entry_error(e: VmcsError) -> StopReason {
    if let VmcsError::Instruction(vmx::VmFail::Valid(n)) = e {
        log::error!("VM entry failed: error {n}: {}", instruction_error_text(n));
        StopReason::EntryInstructionError { error: n }
    } else {
        log::error!("VM entry failed: {e}");
        StopReason::EntryInstructionError { error: 0 }
    }
}

/// Disarms the stopped vCPU's timer and prints its unfinished console line; its exit counters
/// are the summary's once the `Vcpu` is gone (before `finish`).
fn stop(vcpu: &mut Vcpu, reason: StopReason) -> Stopped {
    timer::stop(vcpu);
    crate::exit::vmcall::flush_console(vcpu);
    let report = StopReport {
        partition: vcpu.name(),
        vcpu: vcpu.vcpu,
        rip: vcpu.read(GN::Rip.encoding()),
        reason,
    };
    Stopped {
        index: vcpu.index,
        partition: vcpu.partition,
        report,
    }
}

/// Logs why the vCPU stopped and records how it ended; returns whether it was the last vCPU
/// running (then its CPU prints the verdict). Not inlined: its log lines format on a host stack
/// the run loop's frames have left.
#[inline(never)]
fn finish(stopped: Stopped) -> bool {
    let Stopped {
        index,
        partition,
        report,
    } = stopped;
    let end = match report.reason.status() {
        Some(status) => {
            log::info!("{report}");
            VcpuEnd::Stopped { status }
        }
        None => {
            log::warn!("{report}");
            stop_hermit_partition(partition, report.vcpu, report.reason);
            VcpuEnd::Faulted
        }
    };
    shared::of(index).finish(end)
}

/// A Hermit application cannot go on without one of its vCPUs (it waits for all of them): when one
/// is stopped for a fault, its siblings are stopped too, so the partition ends instead of hanging.
fn stop_hermit_partition(partition: u16, vcpu: u16, reason: StopReason) {
    let part = &PLAN.partitions[partition as usize];
    let by_sibling = matches!(reason, StopReason::PartitionFault { .. });
    if crate::partition::hermit::is_hermit(part) && !by_sibling {
        let fault = StopReason::PartitionFault { vcpu };
        crate::exit::uhyve::stop_siblings(partition, vcpu, fault);
    }
}

/// A vCPU that could not be set up: logged as a fault of its partition.
/// The VMXON region `vmx::enable` unmapped must be the page the plan puts under this vCPU's host
/// stack, so an overflow of the stack faults there; where no 4 KiB mapping covers it, the stack
/// runs unguarded and the log says so.
fn check_host_stack_guard(index: usize, (p, v): (u16, u16), root: &vmx::VmxRoot) {
    let planned = crate::heap::host_stack_guard(index);
    match root.region_guard() {
        Ok(page) if page == planned => {}
        Ok(page) => fail(
            index,
            p,
            v,
            format_args!("VMXON region {page:#x} is not the planned host stack guard {planned:#x}"),
        ),
        Err(e) => log::warn!("vcpu {index}: host stack without a guard page ({planned:#x}: {e})"),
    }
}

/// Test-only (feature `host-stack-overflow-test`, scenario `host-stack-overflow`): the last vCPU's
/// CPU runs into the guard page under its host stack, its VMXON region.
#[cfg(feature = "host-stack-overflow-test")]
fn overflow_last_host_stack_on_purpose(index: usize) {
    if index + 1 == PLAN.vcpus().count() {
        let guard = crate::heap::host_stack_guard(index);
        log::warn!("test hook: overflowing vcpu {index}'s host stack (guard page {guard:#x})");
        tessera_arch::test_hooks::overflow_stack()
    }
}

fn fail(index: usize, p: u16, v: u16, why: core::fmt::Arguments) -> ! {
    let name = PLAN.partitions[p as usize].name;
    log::error!("stopped: partition {name} vcpu {v}: setup failed: {why}");
    if shared::of(index).fail() {
        crate::summary::print();
    }
    tessera_arch::halt_forever()
}
