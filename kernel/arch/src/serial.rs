//! The console UART (a 16550 at the port base the image names in `entry_points!`: the
//! hypervisor's board console, COM1 at 0x3F8 for the test images), the Bochs/QEMU debug port
//! 0xE9, and the `log` logger that writes to the console.
//! Every write is whole lines under a FIFO lock (`ticket`), so lines never interleave and a CPU
//! waits behind at most one line of each other CPU; `write_line_timed` measures how fast the UART
//! drains.

use crate::ticket::TicketLock;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU16, Ordering};
use x86_64::instructions::port::Port;

/// I/O port base of COM1 (the test images' console).
pub const COM1_PORT: u16 = 0x3F8;
/// The emulators' debug console port (Bochs `port_e9_hack`, QEMU `-debugcon`).
pub const DEBUG_PORT: u16 = 0xE9;
/// Line status register bit: transmit holding register (or FIFO) empty.
const LSR_THR_EMPTY: u8 = 1 << 5;
/// Line status register bit: transmitter empty (holding register and shift register).
const LSR_TRANSMITTER_EMPTY: u8 = 1 << 6;

/// A 16550 UART driven by polling.
pub struct Uart {
    base: u16,
}

impl Uart {
    /// The UART at I/O port `base`; call `init` before writing.
    pub const fn new(base: u16) -> Self {
        Self { base }
    }

    fn out(&self, offset: u16, value: u8) {
        // SAFETY: the ports base..base+7 belong to this UART; writing its registers has no memory effects.
        unsafe { Port::new(self.base + offset).write(value) }
    }

    fn inp(&self, offset: u16) -> u8 {
        // SAFETY: reading a UART register has no memory effects.
        unsafe { Port::new(self.base + offset).read() }
    }

    /// 115200 baud, 8N1, FIFOs on, interrupts off.
    pub fn init(&self) {
        self.out(1, 0x00);
        self.out(3, 0x80);
        self.out(0, 0x01);
        self.out(1, 0x00);
        self.out(3, 0x03);
        self.out(2, 0xC7);
        self.out(4, 0x0B);
    }

    /// Sends one byte, waiting for room in the transmitter.
    pub fn write_byte(&self, byte: u8) {
        self.wait_for(LSR_THR_EMPTY);
        self.out(0, byte);
    }

    /// Spins until every bit of `mask` is set in the line status register.
    fn wait_for(&self, mask: u8) {
        while self.inp(5) & mask != mask {
            core::hint::spin_loop();
        }
    }
}

/// Counts the bytes written through it.
struct Counted<'a> {
    uart: &'a mut Uart,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes += s.len() as u64;
        self.uart.write_str(s)
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.write_byte(b));
        Ok(())
    }
}

/// The console UART's port base, set once by `init` before any other CPU runs.
static CONSOLE_PORT: AtomicU16 = AtomicU16::new(COM1_PORT);
static CONSOLE: TicketLock<Uart> = TicketLock::new(Uart::new(COM1_PORT));

fn this_cpu() -> usize {
    crate::percpu::current_index_or_boot()
}

/// Initializes the console UART at I/O port `port`; called once by the boot CPU.
pub fn init(port: u16) {
    CONSOLE_PORT.store(port, Ordering::SeqCst);
    let mut uart = CONSOLE.lock(this_cpu());
    *uart = Uart::new(port);
    uart.init();
}

/// The console UART's I/O port base.
pub fn console_port() -> u16 {
    CONSOLE_PORT.load(Ordering::SeqCst)
}

/// Writes formatted text to the console under the console lock.
pub fn write_fmt(args: fmt::Arguments) {
    let _ = CONSOLE.lock(this_cpu()).write_fmt(args);
}

/// Writes `args` and a newline under one hold of the console lock. The newline is written after
/// the text, not formatted around it, so the text is formatted one level deep on the caller's
/// stack (a host stack is sized from measured depth).
pub fn write_line(args: fmt::Arguments) {
    let mut uart = CONSOLE.lock(this_cpu());
    let _ = uart.write_fmt(args);
    uart.write_byte(b'\n');
}

/// Writes `args` and a newline with the UART idle before and after, and returns the TSC cycles the
/// UART took per byte (0 for an empty line): how fast the console drains, measured.
pub fn write_line_timed(args: fmt::Arguments) -> u64 {
    let mut uart = CONSOLE.lock(this_cpu());
    uart.wait_for(LSR_TRANSMITTER_EMPTY);
    let started = crate::tsc_cycles();
    let mut counted = Counted {
        uart: &mut uart,
        bytes: 0,
    };
    let _ = counted.write_fmt(format_args!("{args}\n"));
    let bytes = counted.bytes;
    uart.wait_for(LSR_TRANSMITTER_EMPTY);
    (crate::tsc_cycles() - started)
        .checked_div(bytes)
        .unwrap_or(0)
}

/// Spins allowed to wait for the console lock before a fatal message is written anyway.
const URGENT_LOCK_SPINS: u32 = 1_000_000;

/// Runs `write` on the console for panics and exceptions: waits a bounded time for the console lock
/// (another CPU may be mid-line), then writes regardless. When this CPU holds the lock itself (it
/// faulted while printing) or the wait ran out, the text starts on a line of its own, so it never
/// continues someone else's line (a guest's line stays behind its `[<partition>] ` prefix).
fn with_console_urgent(write: impl FnOnce(&mut Uart)) {
    let cpu = this_cpu();
    if !CONSOLE.held_by(cpu) {
        for _ in 0..URGENT_LOCK_SPINS {
            if let Some(mut uart) = CONSOLE.try_lock(cpu) {
                return write(&mut uart);
            }
            core::hint::spin_loop();
        }
    }
    let mut uart = Uart::new(console_port());
    uart.write_byte(b'\n');
    write(&mut uart)
}

/// Writes to the console for panics and exceptions (see `with_console_urgent`).
pub fn write_fmt_forced(args: fmt::Arguments) {
    with_console_urgent(|uart| {
        let _ = uart.write_fmt(args);
    });
}

/// Writes `TESSERA-RESULT: fail: <why>` as one line (newlines in `why` become spaces).
pub fn write_result_fail(why: fmt::Arguments) {
    struct OneLine<'a>(&'a mut Uart);
    impl Write for OneLine<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            s.bytes()
                .for_each(|b| self.0.write_byte(if b == b'\n' { b' ' } else { b }));
            Ok(())
        }
    }
    with_console_urgent(|uart| {
        let _ = OneLine(uart).write_fmt(format_args!("TESSERA-RESULT: fail: {why}"));
        uart.write_byte(b'\n');
    });
}

/// Writes bytes to the debug port 0xE9 (visible in the emulator's log before the console is set up).
pub fn debug_port_write(s: &str) {
    for byte in s.bytes() {
        // SAFETY: port 0xE9 is the emulator's debug console; writing it has no memory effects.
        unsafe { Port::new(DEBUG_PORT).write(byte) }
    }
}

/// `println!` to CONSOLE.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::serial::write_line(format_args!($($arg)*))
    };
}

struct SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let cpu = crate::percpu::current_index_or_boot();
        let mut uart = CONSOLE.lock(this_cpu());
        let _ = write!(uart, "[cpu{cpu} {:5}] ", record.level());
        let _ = uart.write_fmt(*record.args());
        uart.write_byte(b'\n');
    }

    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

/// Installs the console logger at `level`; a second call is ignored.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
