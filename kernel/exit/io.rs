//! I/O instruction: the I/O bitmaps let granted ports through without exiting (a partition granted
//! no port has none and exits on every port access: "unconditional I/O exiting"), so a port that
//! exits was not granted: the vCPU is stopped, unless its partition runs a Hermit application and
//! the port is a uhyve hypercall (`uhyve`). Port, size and direction come from the exit
//! qualification, the same under both controls; no bitmap is read.

use super::Flow;
use crate::vcpu::Vcpu;
use tessera_vmx::exit::{IoQualification, StopReason};

pub fn handle(vcpu: &mut Vcpu) -> Flow {
    let io = IoQualification::decode(super::qualification(vcpu));
    let part = &crate::plan::PLAN.partitions[vcpu.partition as usize];
    if crate::partition::hermit::is_hermit(part) {
        return super::uhyve::handle(vcpu, io);
    }
    Flow::Stop(StopReason::DeniedPort {
        port: io.port,
        direction: io.direction,
    })
}
