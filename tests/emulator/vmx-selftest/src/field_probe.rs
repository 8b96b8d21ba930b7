//! Without IPIv offered, the PID-pointer table fields (address 0x2042, last index 0x0008) do not
//! exist on any CPU: VMWRITE and VMREAD of them fail with VM-instruction error 12. Bochs 3.0 pruned
//! unsupported fields on CPU 0 only (fix 1 of ipiv.patch), so CPU 1 is probed as well.

use crate::shared::PID_TABLE;
use core::sync::atomic::{AtomicU64, Ordering};
use tessera_arch::smp::spin;
use tessera_arch::vmx::{ActiveVmcs, VmFail, VmcsError};

/// VM-instruction error: VMREAD/VMWRITE of an unsupported VMCS component (SDM 31.4).
pub const UNSUPPORTED_FIELD: u64 = 12;
/// Outcome of an access that succeeded; any other outcome is the VM-instruction error number.
pub const SUCCEEDED: u64 = 0;
/// Outcome of an access that failed without a VM-instruction error (VMfailInvalid, refused).
const OTHER_FAILURE: u64 = 0xFFFF;
const NOT_PROBED: u64 = u64::MAX;
const CPU1_TIMEOUT_SPINS: u64 = 50_000;

/// The accesses, in the order `probe` makes them.
pub const ACCESSES: [&str; 4] = [
    "VMWRITE 0x2042",
    "VMREAD 0x2042",
    "VMWRITE 0x0008",
    "VMREAD 0x0008",
];

/// What CPU 1 found (`NOT_PROBED` until it is done).
static CPU1_OUTCOMES: [AtomicU64; 4] = [const { AtomicU64::new(NOT_PROBED) }; 4];

/// Makes each access on the current VMCS; returns its outcome (0 or the error number).
pub fn probe(vmcs: &mut ActiveVmcs) -> [u64; 4] {
    let write_table = vmcs.set_pid_table_address(&PID_TABLE, 0).map(|_| 0);
    let write_table = outcome(vmcs, write_table);
    let read_table = vmcs.read(0x2042);
    let read_table = outcome(vmcs, read_table);
    let write_index = vmcs.write_raw(0x0008, 3).map(|_| 0);
    let write_index = outcome(vmcs, write_index);
    let read_index = vmcs.read(0x0008);
    [
        write_table,
        read_table,
        write_index,
        outcome(vmcs, read_index),
    ]
}

/// 0 on success; on VMfailValid the VM-instruction error field (VMREAD's own error path does not
/// read it).
fn outcome(vmcs: &ActiveVmcs, result: Result<u64, VmcsError>) -> u64 {
    match result {
        Ok(_) => SUCCEEDED,
        Err(VmcsError::Instruction(VmFail::Valid(_))) => vmcs.read(0x4400).unwrap_or(OTHER_FAILURE),
        Err(_) => OTHER_FAILURE,
    }
}

/// CPU 1 publishes its outcomes.
pub fn publish_cpu1(outcomes: [u64; 4]) {
    for (slot, value) in CPU1_OUTCOMES.iter().zip(outcomes) {
        slot.store(value, Ordering::SeqCst);
    }
}

/// CPU 1's outcomes, once it has published all of them.
pub fn wait_for_cpu1() -> Option<[u64; 4]> {
    for _ in 0..CPU1_TIMEOUT_SPINS {
        let outcomes = CPU1_OUTCOMES.each_ref().map(|o| o.load(Ordering::SeqCst));
        if !outcomes.contains(&NOT_PROBED) {
            return Some(outcomes);
        }
        spin(1000);
    }
    None
}

/// Pass if every access failed with error 12; logs each one that did not.
pub fn judge(cpu: usize, outcomes: Option<[u64; 4]>) -> Result<&'static str, &'static str> {
    let outcomes = outcomes.ok_or("the CPU did not report its accesses")?;
    let mut ok = true;
    for (access, value) in ACCESSES.iter().zip(outcomes) {
        if value != UNSUPPORTED_FIELD {
            log::error!("cpu{cpu}: {access}: outcome {value} (0 = succeeded), expected error 12");
            ok = false;
        }
    }
    if ok {
        Ok("VMWRITE and VMREAD of 0x2042 and 0x0008 fail, error 12")
    } else if outcomes.contains(&SUCCEEDED) {
        Err("a PID-pointer table field exists although IPIv is not offered")
    } else {
        Err("an access failed, but not with error 12")
    }
}
