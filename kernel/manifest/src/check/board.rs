//! Board file rules: unique CPU names and APIC IDs, unique device names, disjoint RAM ranges,
//! 4 KiB-aligned MMIO, a known hypervisor console.

use super::Ctx;
use crate::diag::{did_you_mean, list};
use crate::model::DeviceModel;
use crate::plan::{HostRange, PortRange};
use crate::schema::{BoardFile, RangeSpec};
use toml::Spanned;

/// What the partitions checks need from the board.
pub struct BoardFacts {
    pub name: String,
    pub ipiv: bool,
    pub cpus: Vec<CpuFact>,
    pub ram: Vec<HostRange>,
    pub hypervisor: HostRange,
    pub devices: Vec<DeviceModel>,
    /// Index into `devices` of the hypervisor's console.
    pub hypervisor_console: Option<usize>,
}

/// One board CPU.
pub struct CpuFact {
    pub name: String,
    pub apic_id: u32,
}

impl BoardFacts {
    /// Index of the CPU called `name`.
    pub fn cpu(&self, name: &str) -> Option<usize> {
        self.cpus.iter().position(|c| c.name == name)
    }

    /// Index of the device called `name`.
    pub fn device(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }
}

/// Checks the board file and extracts its facts (also when it has errors).
pub fn check(cx: &mut Ctx<'_>, file: &BoardFile) -> BoardFacts {
    let mut cpus: Vec<CpuFact> = Vec::new();
    for cpu in &file.cpus {
        let cpu = cpu.get_ref();
        if cpus.iter().any(|c| &c.name == cpu.name.get_ref()) {
            let d = cx.board.error(
                cpu.name.span(),
                format!("CPU name `{}` is used twice", cpu.name.get_ref()),
            );
            cx.push(d.hint("give every [[cpu]] a unique name"));
        }
        if let Some(other) = cpus.iter().find(|c| c.apic_id == *cpu.apic_id.get_ref()) {
            let d = cx.board.error(
                cpu.apic_id.span(),
                format!(
                    "APIC ID {} is already CPU `{}`'s",
                    cpu.apic_id.get_ref(),
                    other.name
                ),
            );
            cx.push(d.hint("physical APIC IDs are unique; read them from the machine's MADT"));
        }
        cpus.push(CpuFact {
            name: cpu.name.get_ref().clone(),
            apic_id: *cpu.apic_id.get_ref(),
        });
    }
    let ram = ranges(cx, &file.ram, "RAM range");
    let hypervisor = HostRange {
        base: file.hypervisor.base.get_ref().0,
        bytes: file.hypervisor.bytes.get_ref().0,
    };
    if hypervisor.bytes == 0 || hypervisor.base.checked_add(hypervisor.bytes).is_none() {
        let d = cx.board.error(
            file.hypervisor.bytes.span(),
            "the hypervisor range is empty or wraps around",
        );
        cx.push(
            d.found(format!(
                "base {:#x}, bytes {:#x}",
                hypervisor.base, hypervisor.bytes
            ))
            .accepted("bytes > 0 and base + bytes below 2^64"),
        );
    }
    let devices = devices(cx, file);
    let hypervisor_console = file.hypervisor.console.as_ref().and_then(|name| {
        let found = devices.iter().position(|d| &d.name == name.get_ref());
        if found.is_none() {
            let d = cx.board.error(
                name.span(),
                format!(
                    "unknown device `{}` for the hypervisor console",
                    name.get_ref()
                ),
            );
            let names = devices.iter().map(|d| d.name.as_str());
            cx.push(
                d.accepted(list(names.clone()))
                    .maybe_hint(did_you_mean(name.get_ref(), names)),
            );
        }
        found
    });
    BoardFacts {
        name: file.name.get_ref().clone(),
        ipiv: file.ipiv,
        cpus,
        ram,
        hypervisor,
        devices,
        hypervisor_console,
    }
}

/// Converts ranges, reporting empty ones and overlaps between them.
fn ranges(cx: &mut Ctx<'_>, specs: &[Spanned<RangeSpec>], what: &str) -> Vec<HostRange> {
    let mut out: Vec<HostRange> = Vec::new();
    for spec in specs {
        let r = HostRange {
            base: spec.get_ref().base.get_ref().0,
            bytes: spec.get_ref().bytes.get_ref().0,
        };
        if r.bytes == 0 || r.base.checked_add(r.bytes).is_none() {
            cx.push(
                cx.board
                    .error(spec.span(), format!("{what} is empty or wraps around"))
                    .found(format!("base {:#x}, bytes {:#x}", r.base, r.bytes)),
            );
        } else if let Some(o) = out.iter().find(|o| overlaps(**o, r)) {
            let d = cx.board.error(
                spec.span(),
                format!("{what} {} overlaps {}", show(r), show(*o)),
            );
            cx.push(d.hint("ranges must be disjoint"));
        }
        out.push(r);
    }
    out
}

fn devices(cx: &mut Ctx<'_>, file: &BoardFile) -> Vec<DeviceModel> {
    let mut out: Vec<DeviceModel> = Vec::new();
    for spec in &file.devices {
        let dev = spec.get_ref();
        if out.iter().any(|d| &d.name == dev.name.get_ref()) {
            cx.push(cx.board.error(
                dev.name.span(),
                format!("device name `{}` is used twice", dev.name.get_ref()),
            ));
        }
        for m in &dev.mmio {
            let (base, bytes) = (m.get_ref().base.get_ref().0, m.get_ref().bytes.get_ref().0);
            if !base.is_multiple_of(4096)
                || !bytes.is_multiple_of(4096)
                || bytes == 0
                || base.checked_add(bytes).is_none()
            {
                let d = cx.board.error(
                    m.span(),
                    format!(
                        "MMIO range of device `{}` is not whole 4 KiB pages",
                        dev.name.get_ref()
                    ),
                );
                cx.push(
                    d.found(format!("base {base:#x}, bytes {bytes:#x}"))
                        .accepted("base and bytes multiples of 4 KiB, bytes > 0"),
                );
            }
        }
        out.push(DeviceModel {
            name: dev.name.get_ref().clone(),
            ports: dev
                .ports
                .iter()
                .map(|p| PortRange {
                    base: p.base,
                    count: p.count,
                })
                .collect(),
            mmio: dev
                .mmio
                .iter()
                .map(|m| HostRange {
                    base: m.get_ref().base.get_ref().0,
                    bytes: m.get_ref().bytes.get_ref().0,
                })
                .collect(),
            irqs: dev.irqs.clone(),
        });
    }
    out
}

/// True if two non-empty ranges share a byte.
pub fn overlaps(a: HostRange, b: HostRange) -> bool {
    a.base < b.base.saturating_add(b.bytes) && b.base < a.base.saturating_add(a.bytes)
}

/// `0x1000000..0x5000000 (64 MiB)`.
pub fn show(r: HostRange) -> String {
    format!(
        "{:#x}..{:#x} ({})",
        r.base,
        r.base.saturating_add(r.bytes),
        crate::size::Bytes(r.bytes)
    )
}
