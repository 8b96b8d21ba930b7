//! Checking the machine against the board file before anything is touched: CPUs and APIC IDs from
//! the MADT, RAM for the hypervisor and every partition from the loader's memory map. Pure, so the
//! comparison is host-tested; the boot path feeds it what the firmware reported.

use core::fmt;
use tessera_manifest::Plan;

/// A processor as the MADT lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareCpu {
    pub apic_id: u32,
    pub enabled: bool,
}

/// One way the machine differs from the board file (one log line each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference<'a> {
    /// A board CPU the MADT does not list.
    MissingCpu { name: &'a str, apic_id: u32 },
    /// A board CPU the MADT lists as disabled.
    DisabledCpu { name: &'a str, apic_id: u32 },
    /// An enabled MADT CPU the board does not declare.
    UndeclaredCpu { apic_id: u32 },
    /// A range the plan uses that no available memory-map region covers.
    RamMissing {
        owner: &'a str,
        base: u64,
        bytes: u64,
    },
}

impl fmt::Display for Difference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Difference::MissingCpu { name, apic_id } => write!(
                f,
                "board CPU {name} (APIC ID {apic_id}) is not in the ACPI MADT"
            ),
            Difference::DisabledCpu { name, apic_id } => write!(
                f,
                "board CPU {name} (APIC ID {apic_id}) is disabled in the ACPI MADT"
            ),
            Difference::UndeclaredCpu { apic_id } => write!(
                f,
                "the ACPI MADT lists an enabled CPU with APIC ID {apic_id} that the board file does not declare"
            ),
            Difference::RamMissing { owner, base, bytes } => write!(
                f,
                "{owner} needs RAM {base:#x}..{:#x}, which no available region of the memory map covers",
                base + bytes
            ),
        }
    }
}

/// Board CPUs vs MADT processors (`madt()`: a fresh walk of the MADT's entries, taken once per
/// board CPU and once more); each difference goes to `out` as it is found (the boot CPU logs it:
/// no list on its stack).
pub fn cpu_differences<'a, I>(
    plan: &Plan<'a>,
    madt: impl Fn() -> I,
    out: &mut impl FnMut(Difference<'a>),
) where
    I: Iterator<Item = FirmwareCpu>,
{
    for cpu in plan.board_cpus {
        let (name, apic_id) = (cpu.name, cpu.apic_id);
        match madt().find(|m| m.apic_id == apic_id) {
            None => out(Difference::MissingCpu { name, apic_id }),
            Some(m) if !m.enabled => out(Difference::DisabledCpu { name, apic_id }),
            Some(_) => {}
        }
    }
    for m in madt().filter(|m| m.enabled) {
        if !plan.board_cpus.iter().any(|c| c.apic_id == m.apic_id) {
            out(Difference::UndeclaredCpu { apic_id: m.apic_id });
        }
    }
}

/// The hypervisor's range and each partition's host memory must lie in available RAM
/// (`available` = half-open `[start, end)` ranges of the memory map, iterated once per range
/// checked); each difference goes to `out` as it is found.
pub fn ram_differences<'a, I>(plan: &Plan<'a>, available: I, out: &mut impl FnMut(Difference<'a>))
where
    I: Iterator<Item = (u64, u64)> + Clone,
{
    let hypervisor = (
        "the hypervisor",
        plan.hypervisor.base,
        plan.hypervisor.bytes,
    );
    let partitions = plan
        .partitions
        .iter()
        .map(|p| (p.name, p.memory.host_base, p.memory.bytes));
    for (owner, base, bytes) in core::iter::once(hypervisor).chain(partitions) {
        let end = base.saturating_add(bytes);
        if !available.clone().any(|(s, e)| s <= base && end <= e) {
            out(Difference::RamMissing { owner, base, bytes });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PLAN;

    fn madt_of_plan() -> std::vec::Vec<FirmwareCpu> {
        PLAN.board_cpus
            .iter()
            .map(|c| FirmwareCpu {
                apic_id: c.apic_id,
                enabled: true,
            })
            .collect()
    }

    #[test]
    fn the_board_itself_has_no_differences() {
        let mut out = std::vec::Vec::new();
        let mut push = |d| out.push(d);
        let madt = madt_of_plan();
        cpu_differences(&PLAN, || madt.iter().copied(), &mut push);
        ram_differences(&PLAN, [(0x10_0000, 0x1_0000_0000)].into_iter(), &mut push);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn missing_disabled_and_undeclared_cpus_each_give_a_line() {
        let mut madt = madt_of_plan();
        let first = PLAN.board_cpus[0];
        let last = *PLAN.board_cpus.last().unwrap();
        madt.retain(|m| m.apic_id != first.apic_id);
        madt.iter_mut()
            .filter(|m| m.apic_id == last.apic_id)
            .for_each(|m| m.enabled = false);
        madt.push(FirmwareCpu {
            apic_id: 77,
            enabled: true,
        });
        let mut out = std::vec::Vec::new();
        cpu_differences(&PLAN, || madt.iter().copied(), &mut |d| out.push(d));
        assert_eq!(out.len(), 3);
        assert!(out.contains(&Difference::MissingCpu {
            name: first.name,
            apic_id: first.apic_id
        }));
        assert!(out.contains(&Difference::DisabledCpu {
            name: last.name,
            apic_id: last.apic_id
        }));
        let text = std::format!("{}", Difference::UndeclaredCpu { apic_id: 77 });
        assert!(text.contains("APIC ID 77"));
    }

    #[test]
    fn ram_short_of_a_partition_names_it() {
        let last = PLAN.partitions.last().unwrap();
        let end = last.memory.host_base + last.memory.bytes;
        let mut out = std::vec::Vec::new();
        ram_differences(&PLAN, [(0x10_0000, end - 4096)].into_iter(), &mut |d| {
            out.push(d)
        });
        assert_eq!(out.len(), 1);
        let text = std::format!("{}", out[0]);
        assert!(text.starts_with(last.name), "{text}");
    }
}
