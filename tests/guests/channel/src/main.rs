//! Test guest `channel`: what each vCPU does is chosen by its partition's name (see `role`):
//! a 100,000-message stream, a fan-out to readers of different speeds, a writer that corrupts
//! the ring and a reader that writes to it, a stranger reaching for a channel it does not have,
//! and request/response round trips against the same exchange through the hypervisor.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod fanout;
mod hostile;
mod ipiv;
mod lookup;
mod payload;
mod ratio;
mod role;
mod rpc;
mod stream;

use role::Role;
use tessera_guest::{fail, BootInfo, TestResult};

tessera_guest::entry!(run);

fn run(info: &'static BootInfo) -> TestResult {
    let Some(role) = role::of(info.name(), info.vcpu_index) else {
        return fail!(
            "no channel test for partition `{}` vcpu {}",
            info.name(),
            info.vcpu_index
        );
    };
    match role {
        Role::StreamWriter => stream::write(info),
        Role::StreamReader => stream::read(info),
        Role::FanWriter => fanout::write(info),
        Role::FanReader { delay_cycles } => fanout::read(info, delay_cycles),
        Role::HostileWriter => hostile::corrupt(info),
        Role::CarefulReader => hostile::read(info),
        Role::RingScribbler => hostile::scribble(info),
        Role::Stranger => hostile::reach(info),
        Role::Bystander => hostile::stand_by(info),
        Role::RpcClient => rpc::client(info),
        Role::RpcServer => rpc::server(info),
    }
}
