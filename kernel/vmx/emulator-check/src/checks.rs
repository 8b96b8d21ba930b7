//! What each exit must show, and the handling that lets the guest go on.

use crate::guest_code::*;
use crate::pages::words;
use crate::vmcs::{read, skip_instruction};
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, Page};
use tessera_arch::{fatal, println};
use tessera_vmx::apic_timer::TimerFrequency;
use tessera_vmx::controls::SecondaryProcBased;
use tessera_vmx::cpuid::{self, VcpuIdentity};
use tessera_vmx::exit::{ApicWrite, ApicWriteRegister, EptViolation, ExitReason};
use tessera_vmx::fields::{Field64ReadOnly as R64, NaturalReadOnly as RN};
use tessera_vmx::guest_abi::BOOT_INFO_MAGIC;
use tessera_vmx::ipi::{decide, Decision, DenyReason, Icr, Peer, RoutingView, VcpuRef};
use tessera_vmx::msr_policy::{on_wrmsr, MsrAction, MsrContext};
use tessera_vmx::tables::{read_icr, read_register, write_icr};

/// The guest's partition: one vCPU, no routes.
struct OneVcpu;

impl RoutingView for OneVcpu {
    fn partition(&self) -> u16 {
        0
    }
    fn vcpu_count(&self) -> u16 {
        1
    }
    fn virtual_apic_id(&self, _vcpu: u16) -> u32 {
        OWN_APIC_ID
    }
    fn peer(&self, _apic_id: u32) -> Option<Peer> {
        None
    }
}

/// Checks exit `reason` and prepares the next entry.
pub fn check_exit(
    v: &mut ActiveVmcs,
    regs: &mut GuestRegisters,
    reason: ExitReason,
    virtual_apic: &'static Page,
) {
    match reason {
        ExitReason::ApicWrite => apic_write(v, virtual_apic),
        ExitReason::Wrmsr => wrmsr(v, regs, virtual_apic),
        ExitReason::Vmcall => vmcall(v, regs),
        ExitReason::Cpuid => cpuid_exit(v, regs),
        ExitReason::EptViolation => ept_violation(v),
        other => fatal(format_args!("no check for exit {other:?}")),
    }
}

/// IPIv on: the self-IPI was posted by the processor (vIRR has it); the stranger IPI exits with 0x300.
fn apic_write(v: &mut ActiveVmcs, virtual_apic: &'static Page) {
    let write = ApicWrite::decode(read(v, RN::ExitQualification.encoding()));
    let icr = read_icr(&words(virtual_apic));
    let virr_0x40 = read_register(&words(virtual_apic), 0x220) & 1 != 0;
    println!(
        "apic-write {:?}: icr {icr:#x}, vIRR has {SELF_VECTOR:#x}: {virr_0x40}",
        write.register()
    );
    expect(
        write.register() == ApicWriteRegister::Icr,
        "APIC-write exit is for the ICR",
    );
    expect(
        icr == Icr::fixed_physical(STRANGER_APIC_ID, STRANGER_VECTOR),
        "ICR holds the stranger IPI",
    );
    expect(
        virr_0x40,
        "IPIv delivered the self-IPI into the virtual IRR",
    );
    expect_denied(decide(icr, 0, &OneVcpu));
}

/// IPIv off: both ICR writes exit; the route decision delivers the first and denies the second.
fn wrmsr(v: &mut ActiveVmcs, regs: &mut GuestRegisters, virtual_apic: &'static Page) {
    let value = regs.rdx << 32 | (regs.rax & 0xFFFF_FFFF);
    let context = MsrContext {
        vcpu_index: 0,
        guest_efer: 0x500,
    };
    let MsrAction::SendIpi(icr) = on_wrmsr(regs.rcx as u32, value, &context) else {
        fatal(format_args!("WRMSR {:#x} is not an ICR write", regs.rcx))
    };
    write_icr(&mut words(virtual_apic), icr);
    let decision = decide(icr, 0, &OneVcpu);
    println!("wrmsr icr {icr:#x} -> {decision:?}");
    if icr >> 32 == u64::from(OWN_APIC_ID) {
        let own = VcpuRef {
            partition: 0,
            vcpu: 0,
        };
        expect(
            decision
                == Decision::Deliver {
                    target: own,
                    vector: SELF_VECTOR,
                },
            "self-IPI delivered",
        );
    } else {
        expect_denied(decision);
    }
    skip_instruction(v);
}

fn expect_denied(decision: Decision) {
    let denied = Decision::Deny(DenyReason::NoRoute {
        apic_id: STRANGER_APIC_ID,
    });
    expect(decision == denied, "the stranger IPI is denied");
}

/// First VMCALL: RAX = boot-info magic; second: RBX = the first word of Tessera's CPUID signature.
fn vmcall(v: &mut ActiveVmcs, regs: &mut GuestRegisters) {
    let signature = u32::from_le_bytes(*b"Tess");
    let magic_seen = regs.rax == BOOT_INFO_MAGIC;
    println!("vmcall rax {:#x} rbx {:#x}", regs.rax, regs.rbx);
    expect(
        magic_seen || regs.rbx == u64::from(signature),
        "VMCALL carries the magic or the signature",
    );
    skip_instruction(v);
}

fn cpuid_exit(v: &mut ActiveVmcs, regs: &mut GuestRegisters) {
    let (leaf, subleaf) = (regs.rax as u32, regs.rcx as u32);
    let guest = cpuid::GuestCpu {
        vcpu: VcpuIdentity {
            virtual_apic_id: OWN_APIC_ID,
            vcpu_index: 0,
            partition_index: 0,
        },
        cr4: 0,
        secondary: SecondaryProcBased::empty(),
        xcr0_allowed: 0,
        frequency: TimerFrequency::from_tsc_hz(1_000_000_000),
    };
    let r = cpuid::emulate(leaf, subleaf, &tessera_arch::cpuid, &guest);
    (regs.rax, regs.rbx, regs.rcx, regs.rdx) =
        (r.eax.into(), r.ebx.into(), r.ecx.into(), r.edx.into());
    skip_instruction(v);
}

fn ept_violation(v: &mut ActiveVmcs) {
    let violation = EptViolation::decode(read(v, RN::ExitQualification.encoding()));
    let gpa = read(v, R64::GuestPhysicalAddress.encoding());
    println!("EPT violation: {} at {gpa:#x}", violation.access_name());
    expect(
        gpa == UNMAPPED_MMIO && violation.read,
        "EPT violation reads the unmapped MMIO page",
    );
}

fn expect(ok: bool, what: &str) {
    if !ok {
        fatal(format_args!("check failed: {what}"));
    }
}
