//! COM1 (16550 UART at 0x3F8), the Bochs/QEMU debug port 0xE9, and the `log` logger that writes to COM1.

use crate::sync::SpinLock;
use core::fmt::{self, Write};
use x86_64::instructions::port::Port;

/// I/O port base of COM1.
pub const COM1_PORT: u16 = 0x3F8;
/// The emulators' debug console port (Bochs `port_e9_hack`, QEMU `-debugcon`).
pub const DEBUG_PORT: u16 = 0xE9;
/// Line status register bit: transmit holding register empty.
const LSR_THR_EMPTY: u8 = 1 << 5;

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
        while self.inp(5) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        self.out(0, byte);
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.write_byte(b));
        Ok(())
    }
}

static COM1: SpinLock<Uart> = SpinLock::new(Uart::new(COM1_PORT));

/// Initializes COM1; called once by the boot CPU.
pub fn init() {
    COM1.lock().init();
}

/// Writes formatted text to COM1 under the console lock.
pub fn write_fmt(args: fmt::Arguments) {
    let _ = COM1.lock().write_fmt(args);
}

/// Spins allowed to wait for the console lock before a fatal message is written anyway.
const URGENT_LOCK_SPINS: u32 = 1_000_000;

/// Runs `write` on COM1 for panics and exceptions: waits a bounded time for the console lock
/// (another CPU may be mid-line), then writes regardless (this CPU may hold the lock itself).
fn with_console_urgent(write: impl FnOnce(&mut Uart)) {
    for _ in 0..URGENT_LOCK_SPINS {
        if let Some(mut uart) = COM1.try_lock() {
            return write(&mut uart);
        }
        core::hint::spin_loop();
    }
    write(&mut Uart::new(COM1_PORT))
}

/// Writes to COM1 for panics and exceptions (see `with_console_urgent`).
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

/// Writes bytes to the debug port 0xE9 (visible in the emulator's log before COM1 is set up).
pub fn debug_port_write(s: &str) {
    for byte in s.bytes() {
        // SAFETY: port 0xE9 is the emulator's debug console; writing it has no memory effects.
        unsafe { Port::new(DEBUG_PORT).write(byte) }
    }
}

/// `println!` to COM1.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

struct SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let cpu = crate::percpu::current_index_or_boot();
        write_fmt(format_args!(
            "[cpu{cpu} {:5}] {}\n",
            record.level(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

/// Installs the COM1 logger at `level`; a second call is ignored.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
