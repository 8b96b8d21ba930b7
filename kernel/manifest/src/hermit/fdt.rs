//! The flattened device tree a Hermit partition boots with (written with `vm-fdt`): what uhyve
//! describes, from the plan. Hermit 0.11 reads the memory from `/memory@*` and the TSC frequency from
//! `/hermit,tsc` (`khz`); `/cpus` lists the vCPUs by virtual APIC ID and `/chosen` has no boot
//! arguments.

use vm_fdt::FdtWriter;

/// What the tree describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdtValues {
    /// Guest-physical RAM Hermit may use.
    pub memory_start: u64,
    pub memory_end: u64,
    /// Virtual APIC IDs of the vCPUs, vCPU 0 first.
    pub apic_ids: Vec<u32>,
    pub tsc_khz: Option<u32>,
}

/// The device tree blob for `v`.
pub fn device_tree(v: &FdtValues) -> Result<Vec<u8>, String> {
    write(v).map_err(|e| format!("device tree: {e}"))
}

fn write(v: &FdtValues) -> Result<Vec<u8>, vm_fdt::Error> {
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    let compatible = vec!["tessera,partition".to_string(), "hermit,uhyve".to_string()];
    fdt.property_string_list("compatible", compatible)?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    let memory = fdt.begin_node(&format!("memory@{:x}", v.memory_start))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &[v.memory_start, v.memory_end - v.memory_start])?;
    fdt.end_node(memory)?;
    if let Some(khz) = v.tsc_khz {
        let tsc = fdt.begin_node("hermit,tsc")?;
        fdt.property_u32("khz", khz)?;
        fdt.end_node(tsc)?;
    }
    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    for id in &v.apic_ids {
        let cpu = fdt.begin_node(&format!("cpu@{id:x}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_u32("reg", *id)?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)?;
    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("bootargs", "")?;
    fdt.end_node(chosen)?;
    fdt.end_node(root)?;
    fdt.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> FdtValues {
        FdtValues {
            memory_start: 0x200_0000,
            memory_end: 0x3ff_a000,
            apic_ids: vec![4, 5],
            tsc_khz: Some(50_000),
        }
    }

    /// Read back with the `fdt` crate and the same calls Hermit 0.11 makes.
    #[test]
    fn hermit_finds_its_memory_and_tsc_frequency() {
        let blob = device_tree(&values()).unwrap();
        let tree = fdt::Fdt::new(&blob).unwrap();
        let regions: Vec<(usize, usize)> = tree
            .find_all_nodes("/memory")
            .map(|m| {
                let r = m.reg().unwrap().next().unwrap();
                (r.starting_address as usize, r.size.unwrap())
            })
            .collect();
        assert_eq!(regions, [(0x200_0000, 0x1ff_a000)]);
        let khz = tree
            .find_node("/hermit,tsc")
            .unwrap()
            .property("khz")
            .unwrap();
        assert_eq!(khz.as_usize(), Some(50_000));
        assert_eq!(tree.root().compatible().first(), "tessera,partition");
        assert_eq!(tree.chosen().bootargs(), Some(""));
        let cpus: Vec<usize> = tree.cpus().map(|c| c.ids().first()).collect();
        assert_eq!(cpus, [4, 5]);
        assert!(blob.len() <= super::super::layout::FDT_MAX_BYTES as usize);
    }

    #[test]
    fn an_unknown_frequency_leaves_the_tsc_node_out() {
        let blob = device_tree(&FdtValues {
            tsc_khz: None,
            ..values()
        })
        .unwrap();
        let tree = fdt::Fdt::new(&blob).unwrap();
        assert!(tree.find_node("/hermit,tsc").is_none());
    }
}
