//! With IPIv offered, the VM-entry checks ipiv.patch adds for the control: VMLAUNCH fails with
//! VM-instruction error 7 for a PID-pointer table address that is not 4 KiB aligned, and for IPIv
//! without "use TPR shadow". Each refusal is followed by the same VMCS with only the offending
//! setting corrected, which must enter (the guest runs to its first VMCALL).

use crate::controls::{self, Words};
use crate::guest;
use crate::ipiv_off::line;
use crate::shared::{self, PID_TABLE, SENDER_PID};
use crate::vcpu::{self, GuestStart, VcpuMemory};
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, VmFail, Vmcs, VmcsError, VmxRoot};

/// How many cases `run` checks.
pub const CASES: usize = 2;
/// VM-instruction error number for "VM entry with invalid control field(s)".
const INVALID_CONTROL_FIELDS: u32 = 7;
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;
/// Offset added to the (4 KiB-aligned) table address: 8-byte aligned but not page aligned.
const MISALIGNMENT_BYTES: u8 = 8;

type Change = fn(&mut ActiveVmcs) -> Result<(), VmcsError>;

/// Runs both checks on fresh VMCSs of CPU 0; returns how many passed.
pub fn run(root: &VmxRoot, words: &Words) -> usize {
    let misaligned = check(root, words, misalign_table, align_table);
    let mut passed = usize::from(line("misaligned PID-table address is refused", misaligned));
    let without_tpr = controls::without_tpr_shadow(words);
    let no_tpr = check(root, &without_tpr, |_| Ok(()), restore_tpr_shadow);
    passed += usize::from(line("IPIv without TPR shadow is refused", no_tpr));
    passed
}

fn misalign_table(vmcs: &mut ActiveVmcs) -> Result<(), VmcsError> {
    vmcs.set_pid_table_address(&PID_TABLE, MISALIGNMENT_BYTES)
}

fn align_table(vmcs: &mut ActiveVmcs) -> Result<(), VmcsError> {
    vmcs.set_pid_table_address(&PID_TABLE, 0)
}

fn restore_tpr_shadow(vmcs: &mut ActiveVmcs) -> Result<(), VmcsError> {
    let primary = vmcs.read(0x4002)?;
    vmcs.write_raw(0x4002, primary | 1 << 21)
}

/// Configures a fresh VMCS with `words`, applies `bad` (entry must fail with error 7), then `fix`
/// (entry must reach the guest's VMCALL).
fn check(
    root: &VmxRoot,
    words: &Words,
    bad: Change,
    fix: Change,
) -> Result<&'static str, &'static str> {
    let mut vmcs = Vmcs::new(shared::region(), root.revision_id());
    let mut active = root
        .activate(&mut vmcs)
        .map_err(|_| "VMCLEAR/VMPTRLD failed")?;
    let memory = VcpuMemory {
        virtual_apic: shared::page(),
        msr_bitmap: shared::page(),
        pid: &SENDER_PID,
        pid_table: Some(&PID_TABLE),
    };
    let start = GuestStart {
        rip: guest::sender_entry(),
        rsp: shared::page().phys_addr() + 4096,
        rflags: 0x2,
        idt_base: 0,
    };
    vcpu::configure(&mut active, words, &memory, &start).map_err(|_| "VMCS setup failed")?;
    bad(&mut active).map_err(|_| "cannot write the refused setting")?;
    let mut regs = GuestRegisters::default();
    expect_refused(&mut active, &mut regs)?;
    fix(&mut active).map_err(|_| "cannot write the corrected setting")?;
    expect_vmcall(&mut active, &mut regs)
}

pub fn expect_refused(
    active: &mut ActiveVmcs,
    regs: &mut GuestRegisters,
) -> Result<(), &'static str> {
    match active.enter(regs) {
        Err(VmcsError::Instruction(VmFail::Valid(INVALID_CONTROL_FIELDS))) => Ok(()),
        Err(e) => {
            log::error!("VM entry failed differently: {e:?}");
            Err("VMLAUNCH failed, but not with error 7")
        }
        Ok(()) => Err("VMLAUNCH succeeded"),
    }
}

pub fn expect_vmcall(
    active: &mut ActiveVmcs,
    regs: &mut GuestRegisters,
) -> Result<&'static str, &'static str> {
    match active.enter(regs) {
        Ok(()) if active.read(0x4402).unwrap_or(0) & 0xFFFF == EXIT_VMCALL => {
            Ok("VMLAUNCH error 7; corrected, the guest runs")
        }
        Ok(()) => Err("refused, but once corrected the guest exited for another reason"),
        Err(e) => {
            log::error!("corrected VM entry failed: {e:?}");
            Err("refused, but still refused once corrected")
        }
    }
}
