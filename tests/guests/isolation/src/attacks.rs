//! The accesses an isolation test makes, by partition name and vCPU index.

use core::fmt::Write;
use tessera_guest::{cpu, paging, BootInfo};

/// A port no manifest grants (ISA POST diagnostics).
const DENIED_PORT: u16 = 0x80;
/// IA32_SYSENTER_CS: not granted to partitions (and harmless to write: guest state only).
const DENIED_MSR: u32 = 0x174;

/// One attempt to leave the partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    ReadOutsideMemory,
    WriteOutsideMemory,
    ReadDeniedPort,
    WriteDeniedMsr,
    ExecuteOutsideMemory,
    TripleFault,
}

/// Partitions whose vCPUs (other than 0) attack.
pub fn is_attacking_partition(name: &str) -> bool {
    matches!(name, "memory" | "devices" | "cpu")
}

/// What vCPU `vcpu` of partition `name` does.
pub fn for_vcpu(name: &str, vcpu: u32) -> Option<Attack> {
    match (name, vcpu) {
        ("memory", 1) => Some(Attack::ReadOutsideMemory),
        ("memory", 2) => Some(Attack::WriteOutsideMemory),
        ("devices", 1) => Some(Attack::ReadDeniedPort),
        ("devices", 2) => Some(Attack::WriteDeniedMsr),
        ("cpu", 1) => Some(Attack::ExecuteOutsideMemory),
        ("cpu", 2) => Some(Attack::TripleFault),
        _ => None,
    }
}

/// The first guest-physical byte after the partition's memory.
fn past_memory(info: &BootInfo) -> u64 {
    info.memory_guest_base + info.memory_bytes
}

impl Attack {
    /// A sentence for the console.
    pub fn describe(&self, info: &BootInfo) -> heapless::String<96> {
        let mut text = heapless::String::new();
        let _ = match self {
            Attack::ReadOutsideMemory => core::fmt::write(
                &mut text,
                format_args!("reading {:#x}, outside its memory", past_memory(info)),
            ),
            Attack::WriteOutsideMemory => core::fmt::write(
                &mut text,
                format_args!("writing {:#x}, outside its memory", past_memory(info)),
            ),
            Attack::ReadDeniedPort => core::fmt::write(
                &mut text,
                format_args!("reading denied port {DENIED_PORT:#x}"),
            ),
            Attack::WriteDeniedMsr => core::fmt::write(
                &mut text,
                format_args!("writing denied MSR {DENIED_MSR:#x}"),
            ),
            Attack::ExecuteOutsideMemory => core::fmt::write(
                &mut text,
                format_args!("jumping to {:#x}, outside its memory", past_memory(info)),
            ),
            Attack::TripleFault => text.write_str("triple-faulting (empty IDT, then int3)"),
        };
        text
    }

    /// Makes the access; returns only if the hypervisor let it through (a value for the report).
    pub fn run(&self, info: &BootInfo) -> u64 {
        let outside = past_memory(info);
        let touches_memory = matches!(
            self,
            Attack::ReadOutsideMemory | Attack::WriteOutsideMemory | Attack::ExecuteOutsideMemory
        );
        if touches_memory {
            if let Err(error) = paging::map_block(info, outside) {
                tessera_guest::println!("cannot map {outside:#x}: {error:?}");
                return u64::MAX;
            }
        }
        match self {
            Attack::ReadOutsideMemory => cpu::read_outside(info, outside),
            Attack::WriteOutsideMemory => {
                cpu::write_outside(info, outside, 0x5445_5353_4552_4121);
                0
            }
            Attack::ExecuteOutsideMemory => cpu::jump_outside(info, outside),
            Attack::TripleFault => cpu::triple_fault(),
            Attack::ReadDeniedPort => u64::from(cpu::read_port_u8(DENIED_PORT)),
            Attack::WriteDeniedMsr => {
                cpu::write_msr_expecting_stop(DENIED_MSR, 0);
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcpu_zero_never_attacks_and_bystanders_never_do() {
        assert_eq!(for_vcpu("memory", 0), None);
        assert_eq!(for_vcpu("devices", 0), None);
        assert_eq!(for_vcpu("bystander", 1), None);
        assert_eq!(for_vcpu("memory", 2), Some(Attack::WriteOutsideMemory));
        assert!(is_attacking_partition("devices") && !is_attacking_partition("bystander"));
    }
}
