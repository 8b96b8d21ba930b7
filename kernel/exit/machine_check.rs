//! A machine check while the guest ran (exception-or-NMI exit with #MC, which the exception
//! bitmap intercepts) or during its VM entry (reason 41): handled here, never by the guest. The
//! banks are logged in the stop report, the machine check is ended (MCIP cleared) and the vCPU is
//! stopped; its partition's other vCPUs and every other partition go on.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::exit::machine_check::is_machine_check;
use tessera_vmx::exit::{InterruptionInfo, StopReason};
use tessera_vmx::fields::Field32ReadOnly;

/// Exit reason 0: a machine check, or (nothing else is intercepted) an exit nobody asked for.
pub fn exception(vcpu: &mut Vcpu) -> Flow {
    let info = vcpu.read(Field32ReadOnly::ExitInterruptionInfo.encoding()) as u32;
    if is_machine_check(InterruptionInfo::decode(info)) {
        stop()
    } else {
        Flow::Stop(StopReason::UnhandledExit { reason: 0 })
    }
}

/// Reads and ends the machine check, and stops the vCPU with what the banks say.
pub fn stop() -> Flow {
    let report = tessera_arch::machine_check::report();
    tessera_arch::machine_check::end();
    Flow::Stop(StopReason::MachineCheck {
        mcg_status: report.map_or(0, |r| r.mcg_status),
        first_bank: report.and_then(|r| r.first_bank),
    })
}
