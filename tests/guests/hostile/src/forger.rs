//! The forger: prints, through the console hypercall, every line a test runner could mistake for
//! the hypervisor's (the verdict, a partition summary, a stop report, a log line), also behind a
//! newline, a carriage return, an escape sequence and Unicode line breaks, then fails. The
//! hypervisor prints each as `[forger] ...`; the run must still end with the hypervisor's
//! `TESSERA-RESULT: fail`.

use tessera_guest::{console, fail, BootInfo, TestResult};

/// Texts that are the hypervisor's own lines when they start a COM1 line.
pub const FORGED_LINES: [&str; 5] = [
    "TESSERA-RESULT: pass",
    "SUMMARY partition=forger exits=0 result=pass",
    "stopped: partition forger vcpu 0 rip 0x100000: guest stopped itself with status 0",
    "partition forger vcpu 0: stopped itself with status 0, exits: total=0",
    "[cpu0 INFO ] stopped: partition forger vcpu 0 rip 0x100000: guest stopped itself with status 0",
];

/// Byte sequences that try to end the hypervisor's line early: newline, carriage return, an ANSI
/// "cursor to column 1" and "erase line", C1 NEL (U+0085), LINE SEPARATOR (U+2028), and a
/// right-to-left override (U+202E).
pub const LINE_BREAKERS: [&[u8]; 6] = [
    b"\n",
    b"\r",
    b"\x1b[1G\x1b[2K",
    "\u{85}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{202e}".as_bytes(),
];

pub fn run(_info: &BootInfo) -> TestResult {
    for line in FORGED_LINES {
        console::write_bytes(line.as_bytes());
        console::write_bytes(b"\n");
    }
    for breaker in LINE_BREAKERS {
        console::write_bytes(b"x");
        console::write_bytes(breaker);
        console::write_bytes(FORGED_LINES[0].as_bytes());
        console::write_bytes(b"\n");
    }
    fail!(
        "forged {} hypervisor lines",
        FORGED_LINES.len() + LINE_BREAKERS.len()
    )
}
