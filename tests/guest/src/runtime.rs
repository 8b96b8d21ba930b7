//! A guest's life: checked boot information, `main`, then its result on the console and the STOP
//! hypercall with a status the hypervisor logs (0 = pass).

#[cfg(feature = "compact")]
use crate::console::Text;
use crate::cpu::current_vcpu;
use crate::hypercall::{stop, HypercallError};
use crate::status::{STATUS_BAD_BOOT_INFO, STATUS_FAIL, STATUS_PASS};
use core::fmt::{self, Write};
use tessera_vmx::guest_abi::BootInfo;

/// Why a guest's test failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub heapless::String<112>);

impl Failure {
    /// A failure described by `args` (cut at 112 bytes).
    pub fn new(args: fmt::Arguments<'_>) -> Self {
        let mut text = heapless::String::new();
        let _ = text.write_fmt(args);
        Failure(text)
    }
}

impl From<HypercallError> for Failure {
    fn from(error: HypercallError) -> Self {
        Failure::new(format_args!("hypercall failed: {error:?}"))
    }
}

/// What a guest's `main` returns.
pub type TestResult = Result<(), Failure>;

/// A guest's main function.
pub type Main = fn(&'static BootInfo) -> TestResult;

/// `return fail!("...", args)`: an `Err(Failure)` with a formatted reason.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { Err($crate::Failure::new(format_args!($($arg)*))) };
}

/// Defines the guest's entry (`_start` calls it with the boot-info address) running `main`; on
/// the host, a `main` that says the crate is a bare-metal guest. `entry!(run, exceptions_only)`
/// is for a guest that never enables interrupts: its IDT has the exception gates only
/// ([`start_exceptions_only`]), and its image leaves the 224 interrupt stubs out.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        $crate::entry!(@start $main, start);
    };
    ($main:path, exceptions_only) => {
        $crate::entry!(@start $main, start_exceptions_only);
    };
    (@start $main:path, $start:ident) => {
        #[cfg(target_os = "none")]
        #[no_mangle]
        extern "C" fn tessera_guest_entry(boot_info_address: u64) -> ! {
            $crate::runtime::$start(boot_info_address, $main)
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            let _: $crate::runtime::Main = $main;
            eprintln!(
                "{} is a Tessera test guest (bare metal): `cargo xtask image` builds it",
                env!("CARGO_PKG_NAME")
            );
            std::process::exit(2);
        }
    };
}

/// Checks the boot-info block at `boot_info_address`, loads the IDT (exceptions are reported,
/// interrupts stay masked until the guest enables them), runs `main` and reports its result.
pub fn start(boot_info_address: u64, main: Main) -> ! {
    let Some(info) = crate::cpu::boot_info(boot_info_address) else {
        crate::println!("vcpu ?: fail: boot info at {boot_info_address:#x} is unusable");
        stop(STATUS_BAD_BOOT_INFO)
    };
    if let Err(error) = info.check() {
        crate::println!("vcpu {}: fail: boot info: {error:?}", current_vcpu());
        stop(STATUS_BAD_BOOT_INFO)
    }
    crate::idt::install();
    report(info, main(info))
}

/// As [`start`], with an IDT of exception gates only ([`crate::idt::install_exceptions`]); an
/// unusable boot-info block is named by its `Display` (no `Debug` code in the guest).
#[cfg(feature = "compact")]
pub fn start_exceptions_only(boot_info_address: u64, main: Main) -> ! {
    let Some(info) = crate::cpu::boot_info(boot_info_address) else {
        crate::println!("vcpu ?: fail: boot info at {boot_info_address:#x} is unusable");
        stop(STATUS_BAD_BOOT_INFO)
    };
    if let Err(error) = info.check() {
        crate::println!("vcpu {}: fail: boot info: {error}", current_vcpu());
        stop(STATUS_BAD_BOOT_INFO)
    }
    crate::idt::install_exceptions();
    report(info, main(info))
}

/// Prints `vcpu <i>: pass` or `vcpu <i>: fail: <why>` and stops the vCPU with its status.
pub fn report(info: &BootInfo, result: TestResult) -> ! {
    match result {
        Ok(()) => {
            crate::println!("vcpu {}: pass", info.vcpu_index);
            stop(STATUS_PASS)
        }
        Err(Failure(why)) => {
            #[cfg(not(feature = "compact"))]
            crate::println!("vcpu {}: fail: {why}", info.vcpu_index);
            #[cfg(feature = "compact")]
            crate::println!("vcpu {}: fail: {}", info.vcpu_index, Text(&why));
            stop(STATUS_FAIL)
        }
    }
}

#[cfg(all(target_os = "none", not(feature = "compact")))]
#[panic_handler]
fn panic(panic: &core::panic::PanicInfo<'_>) -> ! {
    crate::println!("vcpu {}: fail: panic: {panic}", current_vcpu());
    stop(crate::status::STATUS_PANIC)
}

/// With feature `compact`: the location and message on one line, printed without
/// `Formatter::pad` (a guest built for size carries none).
#[cfg(all(target_os = "none", feature = "compact"))]
#[panic_handler]
fn panic(panic: &core::panic::PanicInfo<'_>) -> ! {
    let vcpu = current_vcpu();
    let message = panic.message();
    match panic.location() {
        Some(at) => crate::println!(
            "vcpu {vcpu}: fail: panic at {}:{}:{}: {message}",
            Text(at.file()),
            at.line(),
            at.column()
        ),
        None => crate::println!("vcpu {vcpu}: fail: panic: {message}"),
    }
    stop(crate::status::STATUS_PANIC)
}
