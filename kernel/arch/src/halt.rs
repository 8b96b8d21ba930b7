//! The bottom of tessera-arch's start-up path: halting a CPU for good, with or without a last word
//! on the console (`fatal`).

/// Disables interrupts and halts this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Prints `why` and a failing result line on the console, then halts this CPU.
#[cfg(target_os = "none")]
pub fn fatal(why: core::fmt::Arguments) -> ! {
    crate::serial::write_fmt_forced(format_args!("fatal: {why}\n"));
    crate::serial::write_result_fail(why);
    halt_forever()
}
