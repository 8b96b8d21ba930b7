//! What one more vCPU and one more partition would add to the loaded hypervisor, from the plan's
//! sizing: the heap of the same manifest planned again with a vCPU (on a CPU of its own) or a
//! partition (of one vCPU) added, and the statics sized by the plan's counts, each read from the
//! built ELF and divided by its count (per-CPU storage by `CPU_SLOTS`, per-vCPU arrays by
//! `VCPUS`, per-partition arrays by `PARTITIONS`).

use object::{Object, ObjectSymbol};
use tessera_manifest::heap::Build;
use tessera_manifest::model::{Model, PartitionModel, VcpuModel};

/// Statics with one element per CPU slot (the boot CPU and each other CPU hosting a vCPU).
const PER_CPU_STATICS: [&str; 1] = ["__TESSERA_CPU_STORAGE"];
/// Statics with one element per vCPU.
const PER_VCPU_STATICS: [&str; 2] = [
    "tessera::vcpu::shared::SHARED",
    "tessera::vcpu::launch::LAUNCH",
];
/// Statics with one element per partition.
const PER_PARTITION_STATICS: [&str; 1] = ["tessera::console::BUCKETS"];

/// One added thing's bytes, by part.
#[derive(Debug, PartialEq, Eq)]
pub struct Cost {
    pub what: String,
    pub parts: Vec<(String, u64)>,
}

impl Cost {
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|(_, b)| b).sum()
    }
}

/// The cost of one more vCPU and of one more partition of one vCPU for `model`, whose hypervisor
/// is `elf`.
pub fn costs(elf: &[u8], model: &Model, build: Build) -> Result<[Cost; 2], String> {
    let statics = Statics::read(elf, model)?;
    let heap = |m: &Model| {
        let arena = bumpalo::Bump::new();
        tessera_manifest::planner::plan_for(&arena, m, build)
            .heap
            .region_bytes as u64
    };
    let base = heap(model);
    let vcpu_heap = heap(&with_vcpu(model)?).saturating_sub(base);
    let partition_heap = heap(&with_partition(model)?).saturating_sub(base);
    let mut vcpu = vec![(
        "heap (its structures as planned, alignment included)".to_string(),
        vcpu_heap,
    )];
    vcpu.extend(statics.per_cpu.iter().cloned());
    vcpu.extend(statics.per_vcpu.iter().cloned());
    let mut partition = vec![(
        "heap (its tables and its vCPU's structures as planned)".to_string(),
        partition_heap,
    )];
    partition.extend(statics.per_cpu.iter().cloned());
    partition.extend(statics.per_vcpu.iter().cloned());
    partition.extend(statics.per_partition.iter().cloned());
    Ok([
        Cost {
            what: "each added vCPU (on a CPU of its own)".into(),
            parts: vcpu,
        },
        Cost {
            what: "each added partition (one vCPU, on a CPU of its own)".into(),
            parts: partition,
        },
    ])
}

/// `model` with one more vCPU in its first partition, on a board CPU of its own.
fn with_vcpu(model: &Model) -> Result<Model, String> {
    let mut m = model.clone();
    let vcpu = added_cpu(&mut m);
    let first = m
        .partitions
        .first_mut()
        .ok_or("the manifest has no partition")?;
    first.vcpus.push(vcpu);
    Ok(m)
}

/// `model` with one more partition like its first (same memory size and image), with one vCPU on
/// a board CPU of its own, no devices and no routes, placed above every other partition.
fn with_partition(model: &Model) -> Result<Model, String> {
    let mut m = model.clone();
    let vcpu = added_cpu(&mut m);
    let first = m
        .partitions
        .first()
        .ok_or("the manifest has no partition")?;
    let end = m
        .partitions
        .iter()
        .map(|p| p.memory.host_base + p.memory.bytes)
        .max()
        .unwrap_or(0);
    let apic_first = m
        .partitions
        .iter()
        .map(|p| p.apic_first + p.vcpus.len() as u32)
        .max()
        .unwrap_or(0);
    let mut added: PartitionModel = first.clone();
    added.name = "added".into();
    added.vcpus = vec![vcpu];
    added.apic_first = apic_first;
    added.memory.host_base = end.next_multiple_of(2 << 20);
    added.devices.clear();
    added.routes.clear();
    m.partitions.push(added);
    Ok(m)
}

/// Adds a board CPU (the next APIC ID) to `model` and returns a vCPU pinned to it.
fn added_cpu(model: &mut Model) -> VcpuModel {
    let apic_id = model
        .board_cpus
        .iter()
        .map(|(_, id)| id + 1)
        .max()
        .unwrap_or(0);
    model.board_cpus.push(("added".into(), apic_id));
    VcpuModel {
        board_cpu: "added".into(),
        physical_apic_id: apic_id,
        starts_at_boot: true,
    }
}

/// The plan-sized statics of a built hypervisor, each divided by its count.
struct Statics {
    per_cpu: Vec<(String, u64)>,
    per_vcpu: Vec<(String, u64)>,
    per_partition: Vec<(String, u64)>,
}

impl Statics {
    fn read(elf: &[u8], model: &Model) -> Result<Statics, String> {
        let file = object::File::parse(elf).map_err(|e| e.to_string())?;
        let sizes: Vec<(String, u64)> = file
            .symbols()
            .filter(|s| s.size() > 0)
            .map(|s| {
                (
                    super::footprint::readable(s.name().unwrap_or("?")),
                    s.size(),
                )
            })
            .collect();
        let arena = bumpalo::Bump::new();
        let plan = tessera_manifest::planner::layout(&arena, model);
        let one =
            |names: &[&str], count: usize, unit: &str| -> Result<Vec<(String, u64)>, String> {
                names
                    .iter()
                    .map(|name| {
                        let (_, bytes) = sizes
                            .iter()
                            .find(|(symbol, _)| {
                                symbol == name || symbol.ends_with(&format!("::{name}"))
                            })
                            .ok_or_else(|| format!("no static `{name}` in the hypervisor ELF"))?;
                        Ok((
                            format!("{name} (1/{count} of it, one per {unit})"),
                            bytes / count as u64,
                        ))
                    })
                    .collect()
            };
        Ok(Statics {
            per_cpu: one(&PER_CPU_STATICS, plan.cpu_slots(), "CPU")?,
            per_vcpu: one(&PER_VCPU_STATICS, plan.vcpus().count(), "vCPU")?,
            per_partition: one(&PER_PARTITION_STATICS, plan.partitions.len(), "partition")?,
        })
    }
}

/// The costs as text, one line per cost and its parts indented.
pub fn render(costs: &[Cost]) -> String {
    let mut out = String::new();
    for cost in costs {
        out += &format!(
            "{} adds {:.1} KiB ({} bytes):\n",
            cost.what,
            cost.bytes() as f64 / 1024.0,
            cost.bytes()
        );
        for (what, bytes) in &cost.parts {
            out += &super::footprint::kib_row(*bytes, what, "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn default_model() -> Model {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        tessera_manifest::check_files(
            &root.join("board/emulator.toml"),
            &root.join("partitions/default.toml"),
            tessera_manifest::Images::Skip,
        )
        .expect("the default manifest checks")
    }

    #[test]
    fn an_added_vcpu_costs_heap_and_an_added_partition_more() {
        let model = default_model();
        let heap = |m: &Model| {
            let arena = bumpalo::Bump::new();
            tessera_manifest::planner::plan(&arena, m).heap.region_bytes as u64
        };
        let base = heap(&model);
        let vcpu = heap(&with_vcpu(&model).unwrap()) - base;
        let partition = heap(&with_partition(&model).unwrap()) - base;
        assert!(
            vcpu >= 4 * 4096,
            "VMXON, VMCS, virtual-APIC page, MSR bitmap at least: {vcpu}"
        );
        assert!(
            partition > vcpu,
            "a partition adds its tables too: {partition} vs {vcpu}"
        );
    }

    #[test]
    fn the_added_cpu_and_partition_are_new() {
        let model = default_model();
        let with = with_partition(&model).unwrap();
        assert_eq!(with.partitions.len(), model.partitions.len() + 1);
        let added = with.partitions.last().unwrap();
        let ids: Vec<u32> = model.board_cpus.iter().map(|(_, id)| *id).collect();
        assert!(!ids.contains(&added.vcpus[0].physical_apic_id));
        assert!(model
            .partitions
            .iter()
            .all(|p| p.memory.host_base + p.memory.bytes <= added.memory.host_base));
    }

    #[test]
    fn render_sums_the_parts() {
        let cost = Cost {
            what: "x".into(),
            parts: vec![("a".into(), 1024), ("b".into(), 512)],
        };
        let text = render(&[cost]);
        assert!(text.starts_with("x adds 1.5 KiB (1536 bytes):\n"), "{text}");
    }
}
