//! Exit codes and file calls of a Hermit partition: opens, creates and removes a file on uhyve's
//! file system (Tessera answers every file call with an error), says what each returned, then exits
//! with code 42, which must reach the hypervisor's verdict.
#![forbid(unsafe_code)]

#[cfg(target_os = "hermit")]
use hermit as _;

/// The code this application exits with.
const EXIT_CODE: i32 = 42;

fn main() {
    let open = std::fs::File::open("/root/input.txt").map(|_| ());
    let create = std::fs::write("/root/output.txt", b"data").map(|_| ());
    let remove = std::fs::remove_file("/root/input.txt").map(|_| ());
    for (call, result) in [("open", open), ("create", create), ("remove", remove)] {
        match result {
            Ok(()) => println!("hermit-exit: {call}: succeeded"),
            Err(e) => println!("hermit-exit: {call}: refused ({})", e.kind()),
        }
    }
    println!("hermit-exit: exiting with code {EXIT_CODE}");
    std::process::exit(EXIT_CODE);
}
