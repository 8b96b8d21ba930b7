//! Test guest `ipi`: what each vCPU does is chosen by its partition's name (see `role`):
//! ping-pong inside a partition or across an exitless route, denied targets, a trapped route,
//! and shorthand, logical, NMI and self IPIs inside a partition.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod denied;
mod local;
mod pingpong;
mod probe;
mod role;
mod trapped;
mod wait;

use role::Role;
use tessera_guest::{fail, BootInfo, PeerRoute, TestResult};

tessera_guest::entry!(run);

fn run(info: &'static BootInfo) -> TestResult {
    let Some(role) = role::of(info.name(), info.vcpu_index) else {
        return fail!("no IPI test for partition `{}`", info.name());
    };
    match role {
        Role::PingPong { ping, wait, intra } => {
            let Some(peer) = peer_apic_id(info, intra) else {
                return fail!("no peer to exchange IPIs with in the boot info");
            };
            pingpong::run(pingpong::Side {
                scenario: if intra {
                    "pingpong-intra"
                } else {
                    "pingpong-cross"
                },
                ping,
                wait,
                vcpu: info.vcpu_index as usize,
                peer_apic_id: peer,
                intra,
            })
        }
        Role::Denier => denied::deny(info),
        Role::Watcher if info.name() == "bystander" => denied::watch(info, "ipi-local"),
        Role::Watcher => denied::watch(info, "ipi-denied"),
        Role::LocalDriver => local::drive(info),
        Role::LocalReceiver => local::receive(info),
        Role::TrapSender => trapped::send(info),
        Role::TrapReceiver => trapped::receive(info),
        Role::Idle => Ok(()),
    }
}

/// The other side: vCPU 1 - own inside a partition, the exitless peer across.
fn peer_apic_id(info: &BootInfo, intra: bool) -> Option<u32> {
    let wanted = |route: u32, vcpu: u16| match intra {
        true => route == PeerRoute::OwnPartition as u32 && u32::from(vcpu) == 1 - info.vcpu_index,
        false => route == PeerRoute::Exitless as u32,
    };
    let peer = info
        .peers()
        .iter()
        .find(|p| wanted(p.route, p.vcpu_index))?;
    Some(peer.virtual_apic_id)
}
