//! Test-only hooks, compiled only with the `test-hooks` feature (scenario images; never a shipped
//! build): ways to make the platform fail on purpose so a scenario can check how it reports it.

/// Recurses on the calling CPU's stack until it runs into the guard page below it: the page fault
/// is reported as `fatal: CPU n: stack overflow (guard page <hex>)` and the CPU halts.
pub fn overflow_stack() -> ! {
    let depth = descend(0);
    crate::halt::fatal(format_args!(
        "the stack did not overflow after {depth} frames: no guard page"
    ))
}

/// One 512-byte frame per call; `black_box` keeps the frame and the recursion from being optimised
/// away, and the condition is never false at run time.
#[inline(never)]
fn descend(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    core::hint::black_box(&mut frame);
    if core::hint::black_box(depth) < u64::MAX {
        descend(depth + 1) + u64::from(frame[0])
    } else {
        depth
    }
}
