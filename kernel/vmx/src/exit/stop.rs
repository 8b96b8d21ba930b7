//! Why a vCPU is stopped (fault containment), and the one log line that says so:
//! `stopped: partition alpha vcpu 1 rip 0x10203a: EPT violation: write at guest-physical 0x4000000`.

use core::fmt;

use super::io::IoDirection;
use super::reason::ExitReason;

/// What the guest did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    TripleFault,
    /// An access outside the partition's memory and devices.
    EptViolation {
        guest_physical: u64,
        access: &'static str,
    },
    /// An I/O port the partition was not granted.
    DeniedPort {
        port: u16,
        direction: IoDirection,
    },
    /// An MSR the partition was not granted.
    DeniedMsr {
        msr: u32,
        write: bool,
    },
    /// VM entry failed (basic reason 33, 34 or 41) with this qualification.
    EntryFailure {
        reason: u16,
        qualification: u64,
    },
    /// VMLAUNCH/VMRESUME failed with this VM-instruction error (the entry never started).
    EntryInstructionError {
        error: u32,
    },
    /// A VMREAD (or VMWRITE) of this VMCS field failed: the vCPU cannot be handled correctly.
    VmcsAccess {
        field: u32,
        write: bool,
    },
    /// An exit Tessera does not handle.
    UnhandledExit {
        reason: u16,
    },
    /// The guest asked to stop (hypercall) with this status.
    Requested {
        status: u64,
    },
    /// A Hermit application on this vCPU exited (uhyve's exit hypercall) with this code.
    ApplicationExit {
        code: i32,
    },
    /// A Hermit application exited on vCPU `vcpu` of this partition: every vCPU stops.
    PartitionExit {
        code: i32,
        vcpu: u16,
    },
    /// Vcpu `vcpu` of this Hermit partition was stopped for a fault: every vCPU stops.
    PartitionFault {
        vcpu: u16,
    },
    /// A uhyve hypercall whose parameters lie outside the partition's memory.
    HypercallArgument {
        port: u16,
        guest_physical: u64,
    },
    /// A machine check while the guest ran (or during its VM entry): IA32_MCG_STATUS and the
    /// first bank with a valid error (`machine_check`).
    MachineCheck {
        mcg_status: u64,
        first_bank: Option<(u8, u64)>,
    },
}

impl StopReason {
    /// The status a vCPU's end counts with when the guest asked for it (hypercall STOP, or the
    /// exit code of a Hermit application: -1 counts as 0xffff_ffff); `None` for a fault.
    pub const fn status(&self) -> Option<u64> {
        match *self {
            StopReason::Requested { status } => Some(status),
            StopReason::ApplicationExit { code } | StopReason::PartitionExit { code, .. } => {
                Some(code as u32 as u64)
            }
            _ => None,
        }
    }
}

/// A stopped vCPU, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopReport<'a> {
    pub partition: &'a str,
    pub vcpu: u16,
    pub rip: u64,
    pub reason: StopReason,
}

impl fmt::Display for StopReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped: partition {} vcpu {} rip {:#x}: {}",
            self.partition, self.vcpu, self.rip, self.reason
        )
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StopReason::TripleFault => f.write_str("triple fault"),
            StopReason::EptViolation {
                guest_physical,
                access,
            } => {
                write!(
                    f,
                    "EPT violation: {access} at guest-physical {guest_physical:#x}"
                )
            }
            StopReason::DeniedPort { port, direction } => {
                let verb = if direction == IoDirection::In {
                    "in from"
                } else {
                    "out to"
                };
                write!(f, "denied I/O: {verb} port {port:#x}")
            }
            StopReason::DeniedMsr { msr, write } => {
                write!(
                    f,
                    "denied MSR: {} {msr:#x}",
                    if write { "wrmsr" } else { "rdmsr" }
                )
            }
            StopReason::EntryFailure {
                reason,
                qualification,
            } => {
                let name =
                    ExitReason::from_number(reason).map_or("unknown", ExitReason::short_name);
                write!(
                    f,
                    "VM entry failed: {name} (qualification {qualification:#x})"
                )
            }
            // The error's text (`instruction_error_text`) is logged on a line of its own: with
            // it this line could pass the console's line bound.
            StopReason::EntryInstructionError { error } => {
                write!(f, "VM entry failed: VM-instruction error {error}")
            }
            StopReason::VmcsAccess { field, write } => write!(
                f,
                "{} of VMCS field {field:#06x} failed",
                if write { "VMWRITE" } else { "VMREAD" }
            ),
            StopReason::UnhandledExit { reason } => {
                let name =
                    ExitReason::from_number(reason).map_or("unknown", ExitReason::short_name);
                write!(f, "unhandled exit {reason} ({name})")
            }
            StopReason::Requested { status } => {
                write!(f, "guest stopped itself with status {status}")
            }
            StopReason::ApplicationExit { code } => {
                write!(f, "Hermit application exited with code {code}")
            }
            StopReason::PartitionExit { code, vcpu } => write!(
                f,
                "Hermit application exited with code {code} on vcpu {vcpu}"
            ),
            StopReason::PartitionFault { vcpu } => {
                write!(f, "stopped with its partition: vcpu {vcpu} faulted")
            }
            StopReason::HypercallArgument {
                port,
                guest_physical,
            } => write!(
                f,
                "uhyve hypercall {port:#x}: parameters at guest-physical {guest_physical:#x} outside memory"
            ),
            StopReason::MachineCheck {
                mcg_status,
                first_bank: Some((bank, status)),
            } => write!(
                f,
                "machine check: MCG_STATUS {mcg_status:#x}, bank {bank} status {status:#x}"
            ),
            StopReason::MachineCheck {
                mcg_status,
                first_bank: None,
            } => write!(
                f,
                "machine check: MCG_STATUS {mcg_status:#x}, no bank holds a valid error"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn line(reason: StopReason) -> std::string::String {
        StopReport {
            partition: "alpha",
            vcpu: 1,
            rip: 0x10_203A,
            reason,
        }
        .to_string()
    }

    #[test]
    fn each_reason_reads_as_one_line() {
        let ept = StopReason::EptViolation {
            guest_physical: 0x400_0000,
            access: "write",
        };
        assert_eq!(
            line(ept),
            "stopped: partition alpha vcpu 1 rip 0x10203a: EPT violation: write at guest-physical 0x4000000"
        );
        assert!(line(StopReason::TripleFault).ends_with(": triple fault"));
        let port = StopReason::DeniedPort {
            port: 0x2F8,
            direction: IoDirection::Out,
        };
        assert!(line(port).ends_with("denied I/O: out to port 0x2f8"));
        assert!(line(StopReason::DeniedMsr {
            msr: 0x10,
            write: false
        })
        .ends_with("denied MSR: rdmsr 0x10"));
        let entry = StopReason::EntryFailure {
            reason: 33,
            qualification: 0,
        };
        assert!(
            line(entry).ends_with("VM entry failed: entry_fail_guest_state (qualification 0x0)")
        );
        assert!(
            line(StopReason::UnhandledExit { reason: 35 }).ends_with("unhandled exit 35 (unknown)")
        );
        assert!(line(StopReason::Requested { status: 0 }).ends_with("with status 0"));
        assert!(line(StopReason::ApplicationExit { code: -1 })
            .ends_with("Hermit application exited with code -1"));
        assert!(line(StopReason::PartitionExit { code: 3, vcpu: 0 })
            .ends_with("Hermit application exited with code 3 on vcpu 0"));
        assert!(line(StopReason::PartitionFault { vcpu: 0 })
            .ends_with("stopped with its partition: vcpu 0 faulted"));
        let bad = StopReason::HypercallArgument {
            port: 0x880,
            guest_physical: 0x1_0000_0000,
        };
        assert!(line(bad).ends_with(
            "uhyve hypercall 0x880: parameters at guest-physical 0x100000000 outside memory"
        ));
    }

    #[test]
    fn a_machine_check_names_its_bank() {
        let mc = StopReason::MachineCheck {
            mcg_status: 0x5,
            first_bank: Some((3, 0xBE00_0000_0080_0400)),
        };
        assert!(
            line(mc).ends_with(": machine check: MCG_STATUS 0x5, bank 3 status 0xbe00000000800400")
        );
        assert_eq!(mc.status(), None, "a fault, not a requested stop");
    }

    #[test]
    fn vmcs_failures_name_the_field_and_the_instruction_error() {
        assert_eq!(
            StopReason::VmcsAccess {
                field: 0x681E,
                write: true
            }
            .to_string(),
            "VMWRITE of VMCS field 0x681e failed"
        );
        assert_eq!(
            StopReason::EntryInstructionError { error: 7 }.to_string(),
            "VM entry failed: VM-instruction error 7"
        );
        assert_eq!(
            StopReason::EntryInstructionError { error: 7 }.status(),
            None
        );
    }

    #[test]
    fn requested_ends_carry_their_status() {
        assert_eq!(StopReason::Requested { status: 5 }.status(), Some(5));
        assert_eq!(StopReason::ApplicationExit { code: 0 }.status(), Some(0));
        assert_eq!(
            StopReason::PartitionExit { code: -1, vcpu: 1 }.status(),
            Some(0xffff_ffff)
        );
        assert_eq!(StopReason::TripleFault.status(), None);
    }

    /// Every reason, with its longest values (the match makes a new reason show up here).
    fn longest(reason: StopReason) -> StopReason {
        match reason {
            StopReason::TripleFault => StopReason::TripleFault,
            StopReason::EptViolation { .. } => StopReason::EptViolation {
                guest_physical: u64::MAX,
                access: "execute",
            },
            StopReason::DeniedPort { .. } => StopReason::DeniedPort {
                port: u16::MAX,
                direction: IoDirection::Out,
            },
            StopReason::DeniedMsr { .. } => StopReason::DeniedMsr {
                msr: u32::MAX,
                write: true,
            },
            StopReason::EntryFailure { .. } => StopReason::EntryFailure {
                reason: 34,
                qualification: u64::MAX,
            },
            StopReason::EntryInstructionError { .. } => {
                StopReason::EntryInstructionError { error: u32::MAX }
            }
            StopReason::VmcsAccess { .. } => StopReason::VmcsAccess {
                field: u32::MAX,
                write: true,
            },
            StopReason::UnhandledExit { .. } => StopReason::UnhandledExit { reason: u16::MAX },
            StopReason::Requested { .. } => StopReason::Requested { status: u64::MAX },
            StopReason::ApplicationExit { .. } => StopReason::ApplicationExit { code: i32::MIN },
            StopReason::PartitionExit { .. } => StopReason::PartitionExit {
                code: i32::MIN,
                vcpu: u16::MAX,
            },
            StopReason::PartitionFault { .. } => StopReason::PartitionFault { vcpu: u16::MAX },
            StopReason::HypercallArgument { .. } => StopReason::HypercallArgument {
                port: u16::MAX,
                guest_physical: u64::MAX,
            },
            StopReason::MachineCheck { .. } => StopReason::MachineCheck {
                mcg_status: u64::MAX,
                first_bank: Some((u8::MAX, u64::MAX)),
            },
        }
    }

    /// The console's wait bound (`console::budget`) assumes no line printed while vCPUs run is
    /// longer than a full guest line; a stop report is logged as `[cpu<n> <LEVEL>] <report>`.
    #[test]
    fn the_longest_stop_report_fits_the_console_line_bound() {
        use crate::console::budget::LINE_MAX_WIRE_BYTES;
        let name = "p".repeat(32);
        let samples = [
            StopReason::TripleFault,
            StopReason::EptViolation {
                guest_physical: 0,
                access: "read",
            },
            StopReason::DeniedPort {
                port: 0,
                direction: IoDirection::In,
            },
            StopReason::DeniedMsr {
                msr: 0,
                write: false,
            },
            StopReason::EntryFailure {
                reason: 33,
                qualification: 0,
            },
            StopReason::EntryInstructionError { error: 0 },
            StopReason::VmcsAccess {
                field: 0,
                write: false,
            },
            StopReason::UnhandledExit { reason: 0 },
            StopReason::Requested { status: 0 },
            StopReason::ApplicationExit { code: 0 },
            StopReason::PartitionExit { code: 0, vcpu: 0 },
            StopReason::PartitionFault { vcpu: 0 },
            StopReason::HypercallArgument {
                port: 0,
                guest_physical: 0,
            },
            StopReason::MachineCheck {
                mcg_status: 0,
                first_bank: None,
            },
        ];
        for reason in samples.map(longest) {
            let report = StopReport {
                partition: &name,
                vcpu: u16::MAX,
                rip: u64::MAX,
                reason,
            };
            let wire = std::format!("[cpu65535 ERROR] {report}\n");
            assert!(
                wire.len() as u64 <= LINE_MAX_WIRE_BYTES,
                "{} bytes: {wire}",
                wire.len()
            );
        }
    }
}
