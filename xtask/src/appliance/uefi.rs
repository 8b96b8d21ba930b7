//! The UEFI proof of `cargo xtask test`: QEMU with OVMF (Debian's `qemu-system-x86` and `ovmf`,
//! installed by the command when root) boots the default appliance image from its EFI system
//! partition. QEMU's software CPU has neither VMX nor (in Debian 12's QEMU) an x2APIC, so the run
//! must show Tessera's banner with the metadata's version and manifest digest, then Tessera's own
//! refusal of the machine naming VMX, and no exception.

use super::{banner_problem, Metadata};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The name `cargo xtask test --scenario` selects this run by.
pub const NAME: &str = "uefi-boot";
/// Debian packages of the UEFI run.
pub const PACKAGES: [&str; 2] = ["qemu-system-x86", "ovmf"];
/// OVMF as one image (code and variables), from the `ovmf` package.
const FIRMWARE: &str = "/usr/share/ovmf/OVMF.fd";
/// Wall-clock limit of one run (OVMF under QEMU's software CPU takes tens of seconds).
const TIMEOUT: Duration = Duration::from_secs(600);

/// What went wrong in `serial` (empty: the run showed everything it must).
pub fn problems(serial: &str, metadata: &Metadata) -> Vec<String> {
    let lines: Vec<String> = serial
        .lines()
        .map(|l| crate::emulator::strip_ansi(l).replace('\r', ""))
        .collect();
    let mut problems: Vec<String> = banner_problem(serial, metadata).into_iter().collect();
    let refusal = format!(
        "TESSERA-RESULT: fail: the machine does not match board `{}`",
        metadata.board.name
    );
    if !lines.iter().any(|l| l.starts_with(&refusal)) {
        problems.push(format!("no line starting with `{refusal}`"));
    }
    let names_vmx = |l: &&String| l.contains("machine: ") && l.contains("VMX");
    if !lines.iter().any(|l| names_vmx(&l)) {
        problems.push("no `machine: ...` line naming VMX".into());
    }
    for line in lines
        .iter()
        .filter(|l| l.contains("EXCEPTION") || l.contains("panic"))
    {
        problems.push(format!("unexpected: `{line}`"));
    }
    problems
}

/// Boots `disk` under OVMF and checks its COM1 output against `metadata`; says how it went.
pub fn check(disk: &Path, metadata: &Metadata) -> Result<String, String> {
    crate::emulator::ensure_packages(&PACKAGES)?;
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let log = dir.path().join("com1.log");
    std::fs::write(&log, "").map_err(|e| format!("{}: {e}", log.display()))?;
    let started = Instant::now();
    let mut child = qemu(disk, &log)?;
    let serial = wait_for_result(&mut child, &log, started)?;
    let _ = child.kill();
    let _ = child.wait();
    let problems = problems(&serial, metadata);
    if problems.is_empty() {
        Ok(format!(
            "OVMF booted {} to Tessera's banner and its refusal of a machine without VMX in {:.0} s",
            disk.display(),
            started.elapsed().as_secs_f64()
        ))
    } else {
        Err(format!("{}; COM1 output:\n{serial}", problems.join("; ")))
    }
}

/// The command line: no network, no display, the image read-only (`snapshot=on`), COM1 to `log`,
/// four CPUs and 256 MiB as on the emulator board; a triple fault ends QEMU (`-no-reboot`).
pub fn arguments(disk: &Path, log: &Path) -> Vec<String> {
    [
        "-machine",
        "pc",
        "-m",
        "256",
        "-smp",
        "4",
        "-nic",
        "none",
        "-display",
        "none",
        "-no-reboot",
        "-bios",
        FIRMWARE,
        "-drive",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("file={},format=raw,if=ide,snapshot=on", disk.display()),
        "-serial".into(),
        format!("file:{}", log.display()),
    ])
    .collect()
}

fn qemu(disk: &Path, log: &Path) -> Result<Child, String> {
    Command::new("qemu-system-x86_64")
        .args(arguments(disk, log))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run qemu-system-x86_64: {e} (Debian package qemu-system-x86)"))
}

/// COM1 output up to the first `TESSERA-RESULT:` line, QEMU's exit or the timeout.
fn wait_for_result(child: &mut Child, log: &Path, started: Instant) -> Result<String, String> {
    loop {
        let serial = std::fs::read(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let serial = String::from_utf8_lossy(&serial).into_owned();
        if serial.lines().any(|l| l.contains("TESSERA-RESULT:")) {
            std::thread::sleep(Duration::from_millis(200));
            let rest = std::fs::read(log).unwrap_or_default();
            return Ok(String::from_utf8_lossy(&rest).into_owned());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!(
                "QEMU exited ({status}) before a TESSERA-RESULT line: {}; COM1 output:\n{serial}",
                stderr.trim()
            ));
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            return Err(format!(
                "no TESSERA-RESULT line after {} s; COM1 output:\n{serial}",
                TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::super::metadata::tests::sample;
    use super::*;

    fn serial(metadata: &Metadata) -> String {
        format!(
            "BdsDxe: loading Boot0001\r\n\r\u{1b}[2J{}: board emulator, 2 partition(s)\n\
             [cpu0 ERROR] machine: the CPU does not report x2APIC (CPUID.01H:ECX bit 21)\n\
             [cpu0 ERROR] machine: the CPU does not report VMX (CPUID.01H:ECX bit 5)\n\
             fatal: the machine does not match board `emulator`: 2 difference(s)\n\
             TESSERA-RESULT: fail: the machine does not match board `emulator`: 2 difference(s)\n",
            metadata.hypervisor.build_id
        )
    }

    #[test]
    fn the_expected_refusal_passes() {
        let metadata = sample();
        assert_eq!(
            problems(&serial(&metadata), &metadata),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_exception_or_a_missing_piece_is_named() {
        let metadata = sample();
        let crashed = serial(&metadata).replace(
            "fatal: the machine",
            "EXCEPTION on cpu0: vector 13 (#GP)\nfatal: the machine",
        );
        assert!(problems(&crashed, &metadata)[0].contains("EXCEPTION"));
        let no_vmx_line = serial(&metadata).replace("report VMX", "report SMX");
        assert!(problems(&no_vmx_line, &metadata)[0].contains("naming VMX"));
        let passed = serial(&metadata).replace("TESSERA-RESULT: fail:", "TESSERA-RESULT: pass\n");
        assert!(problems(&passed, &metadata)[0].contains("no line starting with"));
    }

    #[test]
    fn qemu_gets_no_network_and_a_read_only_disk() {
        let args = arguments(Path::new("/i/d.img"), Path::new("/r/com1.log")).join(" ");
        assert!(args.contains("-nic none"), "{args}");
        assert!(
            args.contains("file=/i/d.img,format=raw,if=ide,snapshot=on"),
            "{args}"
        );
        assert!(args.contains("-serial file:/r/com1.log"), "{args}");
        assert!(args.contains("-bios /usr/share/ovmf/OVMF.fd"), "{args}");
    }
}
