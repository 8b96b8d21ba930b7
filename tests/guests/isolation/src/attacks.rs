//! The accesses an isolation test makes, by partition name and vCPU index.

use core::fmt::Write;
use tessera_guest::paging::SpareDirectory;
use tessera_guest::{cpu, paging, BootInfo};

/// The local APIC's MMIO page (xAPIC mode); its ICR, where a write would send an IPI.
const LOCAL_APIC_ICR: u64 = 0xFEE0_0300;
/// The emulator board's `vga` device (Bochs's VBE linear frame buffer), granted to another
/// partition of scenario `isolation-mmio`.
const OTHER_DEVICE_MMIO: u64 = 0xE000_0000;
/// A page directory for the GiB that holds the local APIC page and the frame buffer, which the
/// hypervisor's guest tables do not cover for a partition granted neither.
static SPARE_DIRECTORY: SpareDirectory = SpareDirectory::new();

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
    /// RDMSR of an MSR of class `.1` the partition is not granted.
    ReadMsr(u32, &'static str),
    /// WRMSR of `.1` (value `.2`) of class `.3` the partition is not granted.
    WriteMsr(u32, u64, &'static str),
    ReadBelowMemory,
    WriteBelowMemory,
    WriteLocalApicPage,
    ReadOtherDeviceMmio,
}

/// Partitions whose vCPUs (other than 0) attack.
pub fn is_attacking_partition(name: &str) -> bool {
    matches!(
        name,
        "memory"
            | "devices"
            | "cpu"
            | "cpu-model"
            | "msr-power-spec"
            | "msr-vmx-mtrr"
            | "msr-debug-syscall"
            | "msr-tsc-other"
            | "below"
            | "reach"
    )
}

/// What vCPU `vcpu` of partition `name` does. The `cpu-model` and `msr-*` partitions take one
/// denied MSR of a class each, reads and writes alternating (scenarios `cpu-model`, `msr-*`).
pub fn for_vcpu(name: &str, vcpu: u32) -> Option<Attack> {
    Some(match (name, vcpu) {
        ("memory", 1) => Attack::ReadOutsideMemory,
        ("memory", 2) => Attack::WriteOutsideMemory,
        ("devices", 1) => Attack::ReadDeniedPort,
        ("devices", 2) => Attack::WriteDeniedMsr,
        ("cpu", 1) => Attack::ExecuteOutsideMemory,
        ("cpu", 2) => Attack::TripleFault,
        ("cpu-model", 1) => Attack::ReadMsr(0xC1, "performance counter IA32_PMC0"),
        ("cpu-model", 2) => Attack::WriteMsr(0x401, 0, "machine check IA32_MC0_STATUS"),
        ("msr-power-spec", 1) => Attack::ReadMsr(0x1A0, "power IA32_MISC_ENABLE"),
        ("msr-power-spec", 2) => Attack::WriteMsr(0x48, 1, "speculation IA32_SPEC_CTRL"),
        ("msr-vmx-mtrr", 1) => Attack::ReadMsr(0x480, "VMX capability IA32_VMX_BASIC"),
        ("msr-vmx-mtrr", 2) => Attack::WriteMsr(0x2FF, 0xC06, "memory type IA32_MTRR_DEF_TYPE"),
        ("msr-debug-syscall", 1) => Attack::WriteMsr(0x1D9, 0, "debug IA32_DEBUGCTL"),
        ("msr-debug-syscall", 2) => Attack::ReadMsr(0xC000_0082, "system call IA32_LSTAR"),
        ("msr-tsc-other", 1) => Attack::WriteMsr(0x10, 0, "time IA32_TIME_STAMP_COUNTER"),
        ("msr-tsc-other", 2) => Attack::ReadMsr(0x4000_0000, "undefined 0x40000000"),
        ("below", 1) => Attack::ReadBelowMemory,
        ("below", 2) => Attack::WriteBelowMemory,
        ("reach", 1) => Attack::WriteLocalApicPage,
        ("reach", 2) => Attack::ReadOtherDeviceMmio,
        _ => return None,
    })
}

/// The first guest-physical byte after the partition's memory.
fn past_memory(info: &BootInfo) -> u64 {
    info.memory_guest_base + info.memory_bytes
}

/// Reads the first word of the `vga` device's MMIO, for the partition the manifest grants it to
/// (the hypervisor maps it in that partition's page tables and EPT).
pub fn read_own_device(info: &BootInfo) -> u64 {
    cpu::read_outside(info, OTHER_DEVICE_MMIO)
}

/// The last 8 bytes below the partition's memory (its guest base must be above 0).
fn below_memory(info: &BootInfo) -> u64 {
    info.memory_guest_base - 8
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
            Attack::ReadMsr(msr, class) => core::fmt::write(
                &mut text,
                format_args!("reading denied MSR {msr:#x} ({class})"),
            ),
            Attack::WriteMsr(msr, _, class) => core::fmt::write(
                &mut text,
                format_args!("writing denied MSR {msr:#x} ({class})"),
            ),
            Attack::ReadBelowMemory => core::fmt::write(
                &mut text,
                format_args!("reading {:#x}, below its memory", below_memory(info)),
            ),
            Attack::WriteBelowMemory => core::fmt::write(
                &mut text,
                format_args!("writing {:#x}, below its memory", below_memory(info)),
            ),
            Attack::WriteLocalApicPage => core::fmt::write(
                &mut text,
                format_args!("writing the local APIC page's ICR at {LOCAL_APIC_ICR:#x}"),
            ),
            Attack::ReadOtherDeviceMmio => core::fmt::write(
                &mut text,
                format_args!("reading another partition's device MMIO at {OTHER_DEVICE_MMIO:#x}"),
            ),
        };
        text
    }

    /// Makes the access; returns only if the hypervisor let it through (a value for the report).
    pub fn run(&self, info: &BootInfo) -> u64 {
        let outside = match self {
            Attack::ReadBelowMemory | Attack::WriteBelowMemory => below_memory(info),
            Attack::WriteLocalApicPage => LOCAL_APIC_ICR,
            Attack::ReadOtherDeviceMmio => OTHER_DEVICE_MMIO,
            _ => past_memory(info),
        };
        let touches_memory = matches!(
            self,
            Attack::ReadOutsideMemory
                | Attack::WriteOutsideMemory
                | Attack::ExecuteOutsideMemory
                | Attack::ReadBelowMemory
                | Attack::WriteBelowMemory
                | Attack::WriteLocalApicPage
                | Attack::ReadOtherDeviceMmio
        );
        if touches_memory {
            if let Err(error) = paging::map_block_anywhere(info, outside, &SPARE_DIRECTORY) {
                tessera_guest::println!("cannot map {outside:#x}: {error:?}");
                return u64::MAX;
            }
        }
        match self {
            Attack::ReadBelowMemory | Attack::ReadOtherDeviceMmio => {
                cpu::read_outside(info, outside)
            }
            Attack::WriteBelowMemory => {
                cpu::write_outside(info, outside, 0x5445_5353_4552_4121);
                0
            }
            // An ICR value that would send a fixed IPI (vector 0x40) to APIC ID 0.
            Attack::WriteLocalApicPage => {
                cpu::write_outside(info, outside, 0x0000_4040);
                0
            }
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
            Attack::ReadMsr(msr, _) => cpu::read_msr(*msr),
            Attack::WriteMsr(msr, value, _) => {
                cpu::write_msr_expecting_stop(*msr, *value);
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
        assert_eq!(for_vcpu("msr-power-spec", 0), None);
        for name in [
            "cpu-model",
            "msr-power-spec",
            "msr-vmx-mtrr",
            "msr-debug-syscall",
            "msr-tsc-other",
        ] {
            assert!(is_attacking_partition(name), "{name}");
            assert!(matches!(
                for_vcpu(name, 1),
                Some(Attack::ReadMsr(..) | Attack::WriteMsr(..))
            ));
            assert!(matches!(
                for_vcpu(name, 2),
                Some(Attack::ReadMsr(..) | Attack::WriteMsr(..))
            ));
        }
    }
}
