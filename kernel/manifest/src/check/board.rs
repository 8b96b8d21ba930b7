//! Board file rules: unique CPU names and APIC IDs, unique device names, a hypervisor console
//! that is a board UART; the address map and the I/O ports have their own modules.

use super::Ctx;
use crate::diag::{did_you_mean, list};
use crate::model::DeviceModel;
use crate::plan::{HostRange, PortRange};
use crate::schema::BoardFile;
use std::ops::Range;
use toml::Spanned;

/// What the partitions checks need from the board.
pub struct BoardFacts {
    pub name: String,
    pub ipiv: bool,
    /// TSC frequency, when the board states it.
    pub tsc_hz: Option<u64>,
    /// The CPUs exit on every bus lock a guest takes.
    pub bus_lock_exit: bool,
    pub cpus: Vec<CpuFact>,
    pub ram: Vec<HostRange>,
    pub hypervisor: HostRange,
    pub devices: Vec<DeviceModel>,
    /// Where each device's `[[device]]` table is in the board file.
    pub device_spans: Vec<Range<usize>>,
    /// Index into `devices` of the hypervisor's console (`None` if it names no device).
    pub hypervisor_console: Option<usize>,
}

/// One board CPU.
pub struct CpuFact {
    pub name: String,
    pub apic_id: u32,
    pub package: u32,
    pub core: u32,
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

    /// Line of device `index`'s `[[device]]` table in the board file.
    pub fn device_line(&self, board: &crate::diag::SourceFile, index: usize) -> usize {
        board.location(self.device_spans[index].start).0
    }
}

/// Checks the board file and extracts its facts (also when it has errors).
pub fn check(cx: &mut Ctx<'_>, file: &BoardFile) -> BoardFacts {
    let cpus = cpus(cx, file);
    let map = super::board_map::check(cx, file);
    let ports = super::board_ports::check(cx, file);
    let devices = devices(cx, file, ports);
    let hypervisor_console = console(cx, &file.hypervisor.console, &devices);
    BoardFacts {
        name: file.name.get_ref().clone(),
        ipiv: file.ipiv,
        tsc_hz: tsc_hz(cx, file),
        bus_lock_exit: file.bus_lock_exit,
        cpus,
        ram: map.ram,
        hypervisor: map.hypervisor,
        devices,
        device_spans: file.devices.iter().map(Spanned::span).collect(),
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
            cx.push(
                d.found(format!("name = \"{name}\""))
                    .accepted("a name no other [[cpu]] has")
                    .hint("give every [[cpu]] a unique name"),
            );
        }
        if let Some(other) = cpus.iter().find(|c| c.apic_id == apic_id) {
            let d = cx.board.error(
                cpu.apic_id.span(),
                format!("APIC ID {apic_id} is already CPU `{}`'s", other.name),
            );
            cx.push(
                d.found(format!("apic_id = {apic_id}"))
                    .accepted("an APIC ID no other [[cpu]] has")
                    .hint("physical APIC IDs are unique; read them from the machine's MADT"),
            );
        }
        cpus.push(CpuFact {
            name: name.clone(),
            apic_id,
            package: cpu.package,
            core: cpu.core,
        });
    }
    cpus
}

/// Ports of a 16550 UART, the only console the hypervisor drives.
pub const UART_PORTS: u16 = 8;

/// Index of the hypervisor's console device: a board device whose first port range is a UART.
fn console(cx: &mut Ctx<'_>, name: &Spanned<String>, devices: &[DeviceModel]) -> Option<usize> {
    let wanted = name.get_ref();
    let Some(index) = devices.iter().position(|d| &d.name == wanted) else {
        let message = format!("unknown device `{wanted}` for the hypervisor console");
        let names = devices.iter().map(|d| d.name.as_str());
        let d = cx
            .board
            .error(name.span(), message)
            .found(format!("console = \"{wanted}\""))
            .accepted(format!(
                "a [[device]] of this board: {}",
                list(names.clone())
            ));
        let hint = did_you_mean(wanted, names)
            .unwrap_or_else(|| "name the [[device]] of the UART the hypervisor prints to".into());
        cx.push(d.hint(hint));
        return None;
    };
    let ports = &devices[index].ports;
    if ports.first().is_none_or(|p| p.count < UART_PORTS) {
        let shown: Vec<String> = ports.iter().map(|p| super::board_ports::show(*p)).collect();
        let d = cx.board.error(
            name.span(),
            format!("the hypervisor console `{wanted}` has no 16550 UART port range"),
        );
        cx.push(
            d.found(format!("ports = [{}]", shown.join(", ")))
                .accepted(format!("a device whose first port range has at least {UART_PORTS} ports (a 16550 UART, e.g. {{ base = 0x3F8, count = 8 }})"))
                .hint("the hypervisor writes its log and the guests' hypercall output to that UART"),
        );
        return None;
    }
    Some(index)
}

/// Board devices with their resources; names must be unique.
fn devices(cx: &mut Ctx<'_>, file: &BoardFile, ports: Vec<Vec<PortRange>>) -> Vec<DeviceModel> {
    let mut out: Vec<DeviceModel> = Vec::new();
    for (dev, ports) in file.devices.iter().map(Spanned::get_ref).zip(ports) {
        let name = dev.name.get_ref();
        if out.iter().any(|d| &d.name == name) {
            let d = cx.board.error(
                dev.name.span(),
                format!("device name `{name}` is used twice"),
            );
            cx.push(
                d.found(format!("name = \"{name}\""))
                    .accepted("a name no other [[device]] has")
                    .hint("partitions name devices; give each [[device]] its own name"),
            );
        }
        let mmio = dev.mmio.iter().map(|m| HostRange {
            base: m.get_ref().base.get_ref().0,
            bytes: m.get_ref().bytes.get_ref().0,
        });
        out.push(DeviceModel {
            name: name.clone(),
            ports,
            mmio: mmio.collect(),
            irqs: dev.irqs.clone(),
            dma: dev.dma,
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
