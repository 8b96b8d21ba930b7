//! Test guest `hostile`: each partition's role comes from its name (see `role`). Hostile roles try
//! to change what their neighbours see; bystanders measure it and fail if they saw anything.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod flood;
mod forger;
mod icr_fuzz;
mod icr_model;
mod role;
mod stepper;
mod waiting;
mod witness;

use role::Role;
use tessera_guest::{fail, BootInfo, TestResult};

tessera_guest::entry!(run);

fn run(info: &'static BootInfo) -> TestResult {
    match role::of(info.name()) {
        Some(Role::Forger) => forger::run(info),
        Some(Role::Flooder) => flood::run(info),
        Some(Role::Witness) => witness::run(info),
        Some(Role::Stepper) => stepper::run(info),
        Some(Role::Intruder) => waiting::intruder(info),
        Some(Role::Sleeper) => waiting::sleeper(info),
        Some(Role::Fuzzer) => icr_fuzz::fuzzer(info),
        Some(Role::Receiver) => icr_fuzz::receiver(info),
        Some(Role::Bystander) => Ok(()),
        None => fail!("no hostile role for partition `{}`", info.name()),
    }
}
