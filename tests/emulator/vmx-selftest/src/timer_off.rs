//! APIC-timer virtualization not offered (`--timer-virt off`): IA32_VMX_PROCBASED_CTLS3 bit 8 is
//! clear, its three VMCS fields do not exist (VMREAD/VMWRITE fail with error 12), and VM entry with
//! the control set is refused with error 7 while the same VMCS without it enters.

use crate::controls::{self, Words};
use crate::entry_checks::{expect_refused, expect_vmcall};
use crate::field_probe::UNSUPPORTED_FIELD;
use crate::ipiv_off::line;
use crate::shared::{self, PID_TABLE, SENDER_PID};
use crate::timer_virt::vmcall_guest;
use crate::vcpu::{self, GuestStart, VcpuMemory};
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, VmFail, Vmcs, VmcsError, VmxRoot};
use tessera_vmx::controls::{PrimaryProcBased, TertiaryProcBased};
use tessera_vmx::select::AllowedSet;

/// How many cases `run` checks.
pub const CASES: usize = 2;
/// Virtual timer vector, guest deadline shadow, guest deadline.
const FIELDS: [u32; 3] = [0x000A, 0x204E, 0x2830];

/// Runs both cases; returns how many passed.
pub fn run(root: &VmxRoot, allowed: &AllowedSet, ipiv: bool) -> usize {
    let Ok(plain) = controls::select(allowed, false) else {
        line(
            "APIC-timer virtualization absent",
            Err("a needed control is not allowed"),
        );
        return 0;
    };
    let mut region = Vmcs::new(shared::region(), root.revision_id());
    let Ok(mut active) = root.activate(&mut region) else {
        line("APIC-timer virtualization absent", Err("VMPTRLD failed"));
        return 0;
    };
    let absent = fields_absent(&mut active);
    let mut passed = usize::from(line("timer fields absent (0x000A, 0x204E, 0x2830)", absent));
    let refused = refused_then_entered(&mut active, &plain, ipiv);
    passed += usize::from(line("entry with the timer control set is refused", refused));
    passed
}

fn fields_absent(active: &mut ActiveVmcs) -> Result<&'static str, &'static str> {
    for field in FIELDS {
        let write = active.write_raw(field, 0);
        let read = active.read(field);
        for failed in [write.err(), read.err()] {
            match failed {
                Some(VmcsError::Instruction(VmFail::Valid(_)))
                    if active.read(0x4400).unwrap_or(0) == UNSUPPORTED_FIELD => {}
                Some(e) => {
                    log::error!("field {field:#06x}: {e:?}");
                    return Err("an access failed, but not with error 12");
                }
                None => return Err("a timer field exists although the control is not offered"),
            }
        }
    }
    Ok("VMWRITE and VMREAD fail with error 12")
}

fn refused_then_entered(
    active: &mut ActiveVmcs,
    plain: &Words,
    ipiv: bool,
) -> Result<&'static str, &'static str> {
    let mut forced = *plain;
    forced.primary |= PrimaryProcBased::ACTIVATE_TERTIARY_CONTROLS.bits() as u64;
    forced.tertiary |= TertiaryProcBased::APIC_TIMER_VIRTUALIZATION.bits();
    let memory = VcpuMemory {
        virtual_apic: shared::page(),
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: ipiv.then_some(&PID_TABLE),
    };
    let start = GuestStart {
        rip: vmcall_guest(),
        rsp: shared::page().phys_addr() + 4096,
        rflags: 0x2,
        idt_base: 0,
    };
    vcpu::configure(active, &forced, &memory, &start).map_err(|_| "VMCS setup failed")?;
    let mut regs = GuestRegisters::default();
    expect_refused(active, &mut regs)?;
    active
        .write_raw(0x2034, plain.tertiary)
        .map_err(|_| "cannot clear the timer control")?;
    expect_vmcall(active, &mut regs)
}
