//! I/O instruction: the I/O bitmaps let granted ports through without exiting, so a port that exits
//! was not granted: the vCPU is stopped.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::exit::{IoQualification, StopReason};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let io = IoQualification::decode(super::qualification(vcpu));
    Flow::Stop(StopReason::DeniedPort {
        port: io.port,
        direction: io.direction,
    })
}
