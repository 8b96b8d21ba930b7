//! Test guest `timer`: what each vCPU does is chosen by its partition's name: `deadline-halt` and
//! `deadline-poll` tick TSC deadlines (halting or spinning between them), `modes` runs the
//! one-shot, periodic, masked, vector-change and divide cases, `storm` arms deadlines in the past
//! as fast as it can while `bystander` measures its own ticks and work before and during the storm.
#![forbid(unsafe_code)]
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod deadline;
mod kinds;
mod modes;
mod path;
mod stats;
mod storm;

use tessera_guest::{fail, BootInfo, TestResult};

tessera_guest::entry!(run);

fn run(info: &'static BootInfo) -> TestResult {
    tessera_guest::timer::enable_apic();
    match info.name() {
        "deadline-halt" => deadline::run(info, deadline::Wait::Halt).map(drop),
        "deadline-poll" => deadline::run(info, deadline::Wait::Poll).map(drop),
        "modes" => modes::run(info),
        "storm" => storm::storm(info),
        "bystander" => storm::bystander(info),
        other => fail!("no timer test for partition `{other}`"),
    }
}
