//! The uhyve hypercalls a Hermit partition makes (uhyve-interface 0.1): an `out` to a port, with
//! EAX = the 32-bit guest-physical address of the call's packed parameters (for the UART port, the
//! byte itself). Tessera serves the console calls and exit; the file calls get the error answer
//! uhyve gives for a failed call (-1 in their result field); anything else stops the vCPU.

/// A uhyve hypercall, by port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UhyveCall {
    /// 0x400: `WriteParams { fd: i32, buf: virtual u64, len: u64 }`; fd 1 and 2 are the console.
    FileWrite,
    /// 0x440: `OpenParams { name: u64, flags: i32, mode: i32, ret: i32 }`.
    FileOpen,
    /// 0x480: `CloseParams { fd: i32, ret: i32 }`.
    FileClose,
    /// 0x500: `ReadParams { fd: i32, buf: u64, len: u64, ret: i64 }`.
    FileRead,
    /// 0x540: `ExitParams { arg: i32 }`.
    Exit,
    /// 0x580: `LseekParams { fd: i32, offset: i64, whence: i32 }` (the result replaces `offset`).
    FileLseek,
    /// 0x800: one console byte in AL.
    Uart,
    /// 0x840: `UnlinkParams { name: u64, ret: i32 }`.
    FileUnlink,
    /// 0x880: `SerialWriteBufferParams { buf: physical u64, len: u64 }`.
    SerialBuffer,
}

impl UhyveCall {
    /// The call behind an I/O port, if it is one Tessera serves.
    pub const fn at_port(port: u16) -> Option<UhyveCall> {
        Some(match port {
            0x400 => UhyveCall::FileWrite,
            0x440 => UhyveCall::FileOpen,
            0x480 => UhyveCall::FileClose,
            0x500 => UhyveCall::FileRead,
            0x540 => UhyveCall::Exit,
            0x580 => UhyveCall::FileLseek,
            0x800 => UhyveCall::Uart,
            0x840 => UhyveCall::FileUnlink,
            0x880 => UhyveCall::SerialBuffer,
            _ => return None,
        })
    }

    /// Bytes of the call's parameters read from guest memory (0: the value is in EAX).
    pub const fn parameter_bytes(self) -> usize {
        match self {
            UhyveCall::FileWrite => 20,
            UhyveCall::FileOpen => 20,
            UhyveCall::FileClose => 8,
            UhyveCall::FileRead => 28,
            UhyveCall::Exit => 4,
            UhyveCall::FileLseek => 16,
            UhyveCall::Uart => 0,
            UhyveCall::FileUnlink => 12,
            UhyveCall::SerialBuffer => 16,
        }
    }

    /// For a file call Tessera refuses: where its result field lies in the parameters and the
    /// error value to store there (-1, little-endian, 4 or 8 bytes). `None` for the others.
    pub const fn error_answer(self) -> Option<(usize, &'static [u8])> {
        const MINUS_ONE_32: [u8; 4] = (-1i32).to_le_bytes();
        const MINUS_ONE_64: [u8; 8] = (-1i64).to_le_bytes();
        match self {
            UhyveCall::FileOpen => Some((16, &MINUS_ONE_32)),
            UhyveCall::FileClose => Some((4, &MINUS_ONE_32)),
            UhyveCall::FileRead => Some((20, &MINUS_ONE_64)),
            UhyveCall::FileLseek => Some((4, &MINUS_ONE_64)),
            UhyveCall::FileUnlink => Some((8, &MINUS_ONE_32)),
            _ => None,
        }
    }
}

/// The legacy 8259 interrupt controllers a Hermit kernel programs at boot even under uhyve (which
/// has KVM emulate them): command ports 0x20/0xA0, data (mask) ports 0x21/0xA1. Tessera wires no
/// line to them, so they are modelled as present with every line masked: writes (initialisation,
/// masks, EOIs) are accepted and change nothing; reads of a data port give 0xFF (all masked) and
/// of a command port 0 (nothing requested or in service). `None` for other ports.
pub const fn legacy_pic_read(port: u16) -> Option<u8> {
    match port {
        0x20 | 0xA0 => Some(0),
        0x21 | 0xA1 => Some(0xFF),
        _ => None,
    }
}

/// The console file descriptors a Hermit application writes to (stdout, stderr).
pub const fn is_console_fd(fd: i32) -> bool {
    fd == 1 || fd == 2
}

/// A decoded `WriteParams` (`FileWrite`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileWrite {
    pub fd: i32,
    /// Guest-virtual address of the bytes.
    pub buf: u64,
    pub len: u64,
}

impl FileWrite {
    pub fn decode(p: &[u8; 20]) -> FileWrite {
        FileWrite {
            fd: i32::from_le_bytes([p[0], p[1], p[2], p[3]]),
            buf: u64_at(p, 4),
            len: u64_at(p, 12),
        }
    }
}

/// A decoded `SerialWriteBufferParams`: guest-physical bytes for the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SerialBuffer {
    pub buf: u64,
    pub len: u64,
}

impl SerialBuffer {
    pub fn decode(p: &[u8; 16]) -> SerialBuffer {
        SerialBuffer {
            buf: u64_at(p, 0),
            len: u64_at(p, 8),
        }
    }
}

/// The exit code of `ExitParams`.
pub fn exit_code(p: &[u8; 4]) -> i32 {
    i32::from_le_bytes(*p)
}

fn u64_at(p: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&p[at..at + 8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_uhyve_interface_0_1() {
        assert_eq!(UhyveCall::at_port(0x400), Some(UhyveCall::FileWrite));
        assert_eq!(UhyveCall::at_port(0x540), Some(UhyveCall::Exit));
        assert_eq!(UhyveCall::at_port(0x800), Some(UhyveCall::Uart));
        assert_eq!(UhyveCall::at_port(0x880), Some(UhyveCall::SerialBuffer));
        for port in [0x3F8, 0x401, 0x740, 0x780, 0xCF8] {
            assert_eq!(UhyveCall::at_port(port), None, "{port:#x}");
        }
    }

    #[test]
    fn the_legacy_pics_read_as_fully_masked() {
        assert_eq!(legacy_pic_read(0x21), Some(0xFF));
        assert_eq!(legacy_pic_read(0xA1), Some(0xFF));
        assert_eq!(legacy_pic_read(0x20), Some(0));
        assert_eq!(legacy_pic_read(0xA0), Some(0));
        assert_eq!(legacy_pic_read(0x22), None);
        assert_eq!(legacy_pic_read(0x400), None);
    }

    #[test]
    fn packed_parameters_decode() {
        let mut w = [0u8; 20];
        w[..4].copy_from_slice(&2i32.to_le_bytes());
        w[4..12].copy_from_slice(&0x4000_1000u64.to_le_bytes());
        w[12..].copy_from_slice(&13u64.to_le_bytes());
        let call = FileWrite::decode(&w);
        assert_eq!(
            call,
            FileWrite {
                fd: 2,
                buf: 0x4000_1000,
                len: 13
            }
        );
        assert!(is_console_fd(call.fd) && !is_console_fd(3));
        let mut s = [0u8; 16];
        s[..8].copy_from_slice(&0x9000u64.to_le_bytes());
        s[8..].copy_from_slice(&5u64.to_le_bytes());
        assert_eq!(
            SerialBuffer::decode(&s),
            SerialBuffer {
                buf: 0x9000,
                len: 5
            }
        );
        assert_eq!(exit_code(&(-3i32).to_le_bytes()), -3);
    }

    #[test]
    fn file_calls_answer_minus_one_in_their_result_field() {
        let mut open = [0u8; 20];
        let (at, value) = UhyveCall::FileOpen.error_answer().unwrap();
        open[at..at + value.len()].copy_from_slice(value);
        assert_eq!(&open[16..20], &[0xFF; 4]);
        let (at, value) = UhyveCall::FileRead.error_answer().unwrap();
        assert_eq!((at, value.len()), (20, 8));
        assert!(at + value.len() <= UhyveCall::FileRead.parameter_bytes());
        for call in [UhyveCall::FileWrite, UhyveCall::Exit, UhyveCall::Uart] {
            assert_eq!(call.error_answer(), None);
        }
    }
}
