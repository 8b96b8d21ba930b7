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
    /// TSC frequency, when the board states it.
    pub tsc_hz: Option<u64>,
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
    let cpus = cpus(cx, file);
    let ram = ranges(cx, &file.ram, "RAM range");
    let hypervisor = hypervisor(cx, file);
    let devices = devices(cx, file);
    let hypervisor_console = file
        .hypervisor
        .console
        .as_ref()
        .and_then(|name| console(cx, name, &devices));
    BoardFacts {
        name: file.name.get_ref().clone(),
        ipiv: file.ipiv,
        tsc_hz: tsc_hz(cx, file),
        cpus,
        ram,
        hypervisor,
        devices,
        hypervisor_console,
    }
}

/// The board's TSC frequency: at least 1 Hz when given.
fn tsc_hz(cx: &mut Ctx<'_>, file: &BoardFile) -> Option<u64> {
    let hz = file.tsc_hz.as_ref()?;
    if *hz.get_ref() == 0 {
        let d = cx.board.error(hz.span(), "tsc_hz is 0");
        cx.push(
            d.found("tsc_hz = 0")
                .accepted("the TSC frequency in Hz, for example tsc_hz = 2_200_000_000")
                .hint("leave tsc_hz out to use the CPU's CPUID leaf 15H at boot"),
        );
        return None;
    }
    Some(*hz.get_ref())
}

/// Board CPUs; names and APIC IDs must be unique.
fn cpus(cx: &mut Ctx<'_>, file: &BoardFile) -> Vec<CpuFact> {
    let mut cpus: Vec<CpuFact> = Vec::new();
    for cpu in file.cpus.iter().map(Spanned::get_ref) {
        let (name, apic_id) = (cpu.name.get_ref(), *cpu.apic_id.get_ref());
        if cpus.iter().any(|c| &c.name == name) {
            let d = cx
                .board
                .error(cpu.name.span(), format!("CPU name `{name}` is used twice"));
            cx.push(d.hint("give every [[cpu]] a unique name"));
        }
        if let Some(other) = cpus.iter().find(|c| c.apic_id == apic_id) {
            let d = cx.board.error(
                cpu.apic_id.span(),
                format!("APIC ID {apic_id} is already CPU `{}`'s", other.name),
            );
            cx.push(d.hint("physical APIC IDs are unique; read them from the machine's MADT"));
        }
        cpus.push(CpuFact {
            name: name.clone(),
            apic_id,
        });
    }
    cpus
}

/// The hypervisor's range; it must not be empty or wrap around.
fn hypervisor(cx: &mut Ctx<'_>, file: &BoardFile) -> HostRange {
    let h = &file.hypervisor;
    let r = HostRange {
        base: h.base.get_ref().0,
        bytes: h.bytes.get_ref().0,
    };
    if r.bytes == 0 || r.base.checked_add(r.bytes).is_none() {
        let d = cx.board.error(
            h.bytes.span(),
            "the hypervisor range is empty or wraps around",
        );
        let found = format!("base {:#x}, bytes {:#x}", r.base, r.bytes);
        cx.push(
            d.found(found)
                .accepted("bytes > 0 and base + bytes below 2^64"),
        );
    }
    r
}

/// Index of the hypervisor's console device.
fn console(cx: &mut Ctx<'_>, name: &Spanned<String>, devices: &[DeviceModel]) -> Option<usize> {
    let found = devices.iter().position(|d| &d.name == name.get_ref());
    if found.is_none() {
        let message = format!(
            "unknown device `{}` for the hypervisor console",
            name.get_ref()
        );
        let names = devices.iter().map(|d| d.name.as_str());
        let d = cx
            .board
            .error(name.span(), message)
            .accepted(list(names.clone()));
        cx.push(d.maybe_hint(did_you_mean(name.get_ref(), names)));
    }
    found
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
    for dev in file.devices.iter().map(Spanned::get_ref) {
        let name = dev.name.get_ref();
        if out.iter().any(|d| &d.name == name) {
            cx.push(cx.board.error(
                dev.name.span(),
                format!("device name `{name}` is used twice"),
            ));
        }
        let mmio: Vec<HostRange> = dev.mmio.iter().map(|m| mmio_range(cx, name, m)).collect();
        let ports = dev
            .ports
            .iter()
            .map(|p| PortRange {
                base: p.base,
                count: p.count,
            })
            .collect();
        out.push(DeviceModel {
            name: name.clone(),
            ports,
            mmio,
            irqs: dev.irqs.clone(),
        });
    }
    out
}

/// One MMIO range of device `name`: whole 4 KiB pages that do not wrap around.
fn mmio_range(cx: &mut Ctx<'_>, name: &str, m: &Spanned<RangeSpec>) -> HostRange {
    let r = HostRange {
        base: m.get_ref().base.get_ref().0,
        bytes: m.get_ref().bytes.get_ref().0,
    };
    let pages = r.base.is_multiple_of(4096) && r.bytes.is_multiple_of(4096) && r.bytes > 0;
    if !pages || r.base.checked_add(r.bytes).is_none() {
        let d = cx.board.error(
            m.span(),
            format!("MMIO range of device `{name}` is not whole 4 KiB pages"),
        );
        let found = format!("base {:#x}, bytes {:#x}", r.base, r.bytes);
        cx.push(
            d.found(found)
                .accepted("base and bytes multiples of 4 KiB, bytes > 0"),
        );
    }
    r
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
