//! IPIs that reach the hypervisor: a WRMSR to the ICR (IPIv off) or an APIC-write exit at offset
//! 300H (a value IPIv does not virtualize, a target outside the PID-pointer table, or a trapped
//! route). tessera-vmx decides; delivery posts into the target's descriptor and sends the
//! notification, so the receiver takes no exit. INIT and SIPI start a waiting vCPU of the same
//! partition (it then starts at the image entry in 64-bit mode, RDI = its boot-info block, like a
//! boot vCPU; the SIPI vector is ignored). An NMI is left pending for the target and its CPU is
//! kicked out of the guest with `KICK_VECTOR` (an external-interrupt exit); the NMI is injected at
//! its next VM entry.

use super::Flow;
use crate::plan::PLAN;
use crate::plan_vmx::PlanView;
use crate::vcpu::{shared, Vcpu};
use tessera_vmx::exit::{ApicWrite, ApicWriteRegister};
use tessera_vmx::ipi::{decide, Decision, EmulatedKind, Emulation, VcpuRef};
use tessera_vmx::tables::PostOutcome;

/// APIC-write exit (trap-like: the write is done and RIP is past it).
pub fn apic_write(vcpu: &mut Vcpu) -> Flow {
    match ApicWrite::decode(super::qualification(vcpu)).register() {
        ApicWriteRegister::Icr => {
            let icr = vcpu.virtual_apic.icr();
            send(vcpu, icr)
        }
        // A self-IPI with a vector below 16: an APIC error on bare metal; dropped.
        ApicWriteRegister::SelfIpi => Flow::Resume,
        _ => Flow::Resume,
    }
}

/// Carries out ICR value `icr` written by `vcpu`.
pub fn send(vcpu: &mut Vcpu, icr: u64) -> Flow {
    let view = PlanView::new(&PLAN, vcpu.partition);
    match decide(icr, vcpu.vcpu, &view) {
        Decision::Deliver { target, vector } => post(vcpu, target, vector),
        Decision::Emulate(emulation) => emulate(vcpu, &view, emulation),
        Decision::Deny(reason) => {
            shared::of(vcpu.index).count_denied_ipi();
            log::debug!("{}: vcpu {} IPI denied: {reason}", vcpu.name(), vcpu.vcpu);
        }
        // Reserved ICR bits fault in the WRMSR itself (msr_policy, or the processor under IPIv), so
        // no value that gets here has them; were one to, the write is past RIP: drop it, send nothing.
        Decision::GeneralProtection => shared::of(vcpu.index).count_denied_ipi(),
    }
    Flow::Resume
}

fn emulate(vcpu: &Vcpu, view: &PlanView, emulation: Emulation) {
    for target in emulation.targets.iter(vcpu.vcpu, view) {
        let to = VcpuRef {
            partition: vcpu.partition,
            vcpu: target,
        };
        let state = shared::of(PLAN.vcpu_index(to));
        match emulation.kind {
            EmulatedKind::Fixed { vector } => post(vcpu, to, vector),
            EmulatedKind::Init => {
                state.init();
            }
            EmulatedKind::StartUp { .. } => {
                if state.start_up() {
                    send_fixed(to, WAKE_VECTOR);
                }
            }
            EmulatedKind::InitDeassert => {}
            EmulatedKind::Nmi => {
                if state.post_nmi() && target != vcpu.vcpu {
                    send_fixed(to, KICK_VECTOR);
                }
            }
        }
    }
}

/// Vector that only makes a vCPU's CPU leave the guest (external-interrupt exit, then EOI).
pub const KICK_VECTOR: u8 = 0xF3;

/// Vector that wakes the CPU of a vCPU waiting for its SIPI (halted in the hypervisor).
pub const WAKE_VECTOR: u8 = 0xF4;

/// Sends a host fixed IPI with `vector` to the CPU `target` is pinned to.
pub fn send_fixed(target: VcpuRef, vector: u8) {
    let vcpus = PLAN.partitions[target.partition as usize].vcpus;
    let apic = vcpus[target.vcpu as usize].physical_apic_id;
    tessera_arch::apic::send_ipi(tessera_arch::apic::icr_fixed(apic, vector));
}

/// Posts `vector` into `target`'s descriptor (from the sender's copy of the descriptors: no lock)
/// and sends the notification if the processor would: one WRMSR of the x2APIC ICR.
fn post(vcpu: &Vcpu, target: VcpuRef, vector: u8) {
    let index = PLAN.vcpu_index(target);
    let Some(pid) = vcpu.descriptors.get(index).copied().flatten() else {
        return;
    };
    if pid.post(vector) == PostOutcome::Notify {
        let icr = tessera_arch::apic::icr_fixed(
            pid.notification_destination(),
            pid.notification_vector(),
        );
        tessera_arch::apic::send_ipi(icr);
    }
}
