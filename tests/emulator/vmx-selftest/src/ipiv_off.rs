//! Without IPIv offered: VM entry with "IPI virtualization" set must fail with VM-instruction error 7
//! (invalid control fields, SDM 31.4), and the same VMCS with the control clear must enter. Before
//! that, both CPUs check that the PID-pointer table fields do not exist (`field_probe`).

use crate::controls::{self, Words};
use crate::field_probe;
use tessera_arch::vmx::{ActiveVmcs, GuestRegisters, VmFail, VmcsError};
use tessera_vmx::select::AllowedSet;

/// VM-instruction error number for "VM entry with invalid control field(s)".
const INVALID_CONTROL_FIELDS: u32 = 7;
/// Basic exit reason of the sender guest's first instruction.
const EXIT_VMCALL: u64 = tessera_vmx::exit::ExitReason::Vmcall as u64;

/// How many cases `run` checks.
pub const CASES: usize = 4;

/// Checks the fields on both CPUs, then refusal and acceptance; prints one line per check and
/// returns how many passed (of `CASES`).
pub fn run(
    vmcs: &mut ActiveVmcs,
    allowed: &AllowedSet,
    forced: &Words,
) -> Result<usize, &'static str> {
    let mut passed = usize::from(line(
        "PID-table fields absent on CPU 0",
        field_probe::judge(0, Some(field_probe::probe(vmcs))),
    ));
    passed += usize::from(line(
        "PID-table fields absent on CPU 1",
        field_probe::judge(1, field_probe::wait_for_cpu1()),
    ));
    let mut regs = GuestRegisters::default();
    let refused = match vmcs.enter(&mut regs) {
        Err(VmcsError::Instruction(VmFail::Valid(INVALID_CONTROL_FIELDS))) => {
            Ok("VMLAUNCH failed, VM-instruction error 7")
        }
        Err(e) => {
            log::error!("VM entry failed differently: {e:?}");
            Err("VM entry failed, but not with error 7")
        }
        Ok(()) => Err("VM entry succeeded with IPIv set although it is not offered"),
    };
    passed += usize::from(line("entry with IPIv set is refused", refused));
    let plain = controls::select(allowed, false).map_err(|_| "a needed control is not allowed")?;
    debug_assert_eq!(plain.pin, forced.pin);
    vmcs.write_raw(0x4002, plain.primary)
        .map_err(|_| "cannot rewrite primary controls")?;
    let accepted = match vmcs.enter(&mut regs) {
        Ok(()) if vmcs.read(0x4402).unwrap_or(0) & 0xFFFF == EXIT_VMCALL => {
            Ok("guest ran to its VMCALL")
        }
        Ok(()) => Err("guest entered but exited for another reason"),
        Err(e) => {
            log::error!("VM entry without IPIv failed: {e:?}");
            Err("VM entry without IPIv failed")
        }
    };
    passed += usize::from(line("same VMCS with IPIv clear enters", accepted));
    Ok(passed)
}

pub fn line(name: &str, verdict: Result<&str, &str>) -> bool {
    match verdict {
        Ok(detail) => tessera_arch::println!("case {name:<46} pass ({detail})"),
        Err(why) => tessera_arch::println!("case {name:<46} FAIL: {why}"),
    }
    verdict.is_ok()
}
