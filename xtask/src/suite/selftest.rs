//! The platform-layer test images as scenarios: tests/emulator/arch-smoke on the 4-CPU board (boot
//! information, MADT, AP bring-up, VMX root everywhere) and tests/emulator/vmx-selftest on 2 CPUs
//! with IPIv offered (every IPIv case) and not offered (VM entry with the control set is refused),
//! each with APIC-timer virtualization offered (every timer case), and once more without it;
//! kernel/vmx/emulator-check runs one guest built only from tessera-vmx's builders, in both modes.

use crate::emulator::{RunSpec, Scenario};
use std::path::PathBuf;

/// Builds the images and returns their scenarios, each requiring the SUMMARY it must print.
pub fn scenarios() -> Result<Vec<Scenario>, String> {
    let smoke = build("tessera-arch-smoke", "arch-smoke")?;
    let selftest = build("tessera-vmx-selftest", "vmx-selftest")?;
    let mut smoke_spec = RunSpec::new(smoke);
    smoke_spec.timeout_s = 120;
    let mut list = vec![Scenario {
        name: "arch-smoke".into(),
        spec: smoke_spec,
        expect_pass: true,
        required_summary: vec![("cpus".into(), "4".into())],
        check: None,
    }];
    for (ipiv, timer_virt) in [(true, true), (false, true), (true, false)] {
        let mut spec = RunSpec::new(selftest.clone());
        spec.cpus = 2;
        spec.ipiv = ipiv;
        spec.timer_virt = timer_virt;
        spec.timeout_s = 180;
        let word = |on: bool| if on { "on" } else { "off" };
        let mode = format!("ipiv-{}", word(ipiv));
        let name = match timer_virt {
            true => format!("vmx-selftest --ipiv {}", word(ipiv)),
            false => "vmx-selftest --timer-virt off".to_string(),
        };
        list.push(Scenario {
            name,
            spec,
            expect_pass: true,
            required_summary: vec![
                ("mode".into(), mode),
                ("timer_virt".into(), word(timer_virt).into()),
            ],
            check: None,
        });
    }
    list.extend(builder_check()?);
    Ok(list)
}

/// kernel/vmx/emulator-check on one CPU, with and without IPIv; its SUMMARY names the mode used.
fn builder_check() -> Result<Vec<Scenario>, String> {
    let image = build("tessera-vmx-emulator-check", "vmx-emulator-check")?;
    let runs = [true, false].map(|ipiv| {
        let mut spec = RunSpec::new(image.clone());
        spec.cpus = 1;
        spec.ipiv = ipiv;
        spec.timeout_s = 120;
        let flag = if ipiv { "on" } else { "off" };
        Scenario {
            name: format!("vmx-builders --ipiv {flag}"),
            spec,
            expect_pass: true,
            required_summary: vec![("ipiv".into(), flag.into())],
            check: None,
        }
    });
    Ok(runs.into())
}

/// The debug build of a bare-metal self-test image; returns the ELF's path.
fn build(package: &str, binary: &str) -> Result<PathBuf, String> {
    let target_dir = crate::workspace::cargo_target_dir(&crate::workspace::root());
    let dir = crate::workspace::bare_metal::BareMetal {
        packages: &[package],
        profile: "dev",
        target_dir: &target_dir,
        env: Vec::new(),
        env_remove: &[],
        features: &[],
        what: package,
    }
    .build()?;
    Ok(dir.join(binary))
}
