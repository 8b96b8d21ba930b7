//! The machine plan generated at build time from the board and partitions files (see build.rs).

include!(concat!(env!("OUT_DIR"), "/manifest.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    /// The region the kernel declares holds every planned item, and ends with the last one.
    #[test]
    fn heap_region_is_exactly_its_items() {
        assert_eq!(PLAN.heap.vcpus.len(), PLAN.vcpus().count());
        assert_eq!(PLAN.heap.partitions.len(), PLAN.partitions.len());
        let end = PLAN.heap_items().map(|i| i.offset + i.bytes).max();
        assert_eq!(end, Some(HEAP_BYTES));
    }

    /// The board and partitions files this build was generated from (build.rs: `TESSERA_BOARD`,
    /// `TESSERA_MANIFEST`, relative to the package), read as plain TOML: not through the planner
    /// or the code generator, whose output the tests below check against the text.
    fn sources() -> (toml::Table, toml::Table) {
        let package = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |var: Option<&str>, default: &str| -> toml::Table {
            let path = package.join(var.unwrap_or(default));
            let text = std::fs::read_to_string(&path).expect("the build read this file");
            text.parse().expect("the build parsed this file")
        };
        (
            read(option_env!("TESSERA_BOARD"), "board/emulator.toml"),
            read(option_env!("TESSERA_MANIFEST"), "partitions/default.toml"),
        )
    }

    /// The generated heap layout (`HEAP_BYTES` and every offset) is what the planner lays out
    /// from the build's files for this build's profile (cargo's `PROFILE`, `debug` exactly when
    /// debug assertions are on for the shipped profiles): a slip of the code generator, or
    /// build.rs laying the heap out for the other profile, fails here.
    #[test]
    fn generated_heap_is_the_planner_s_for_this_build() {
        use tessera_manifest::heap::Build;
        let build = match cfg!(debug_assertions) {
            true => Build::Debug,
            false => Build::Release,
        };
        let package = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let board = option_env!("TESSERA_BOARD").unwrap_or("board/emulator.toml");
        let manifest = option_env!("TESSERA_MANIFEST").unwrap_or("partitions/default.toml");
        let images = tessera_manifest::Images::Skip;
        let model =
            tessera_manifest::check_files(&package.join(board), &package.join(manifest), images)
                .expect("the build checked these files");
        let arena = bumpalo::Bump::new();
        let planned = tessera_manifest::planner::plan_for(&arena, &model, build);
        assert_eq!(PLAN.heap.host_stack_bytes, build.host_stack_bytes());
        assert_eq!(HEAP_BYTES, planned.heap.region_bytes);
        assert_eq!(PLAN.heap, planned.heap);
    }

    fn table_array<'t>(table: &'t toml::Table, key: &str) -> &'t [toml::Value] {
        table[key].as_array().expect("an array of tables")
    }

    /// The kernel's static arrays are sized by PARTITIONS, VCPUS and CPU_SLOTS: each must count
    /// what the manifest text declares (a `[[partition]]` each, one vCPU per `cpus` entry, a slot
    /// per distinct board CPU hosting a vCPU, plus the boot CPU unless every board CPU hosts one).
    #[test]
    fn array_lengths_count_what_the_manifest_text_declares() {
        let (board, manifest) = sources();
        let partitions = table_array(&manifest, "partition");
        let cpus_of = |p: &toml::Value| -> Vec<String> {
            let cpus = p["cpus"].as_array().expect("`cpus` is an array");
            cpus.iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(PARTITIONS, partitions.len());
        assert_eq!(
            VCPUS,
            partitions.iter().map(|p| cpus_of(p).len()).sum::<usize>()
        );
        let hosting: std::collections::BTreeSet<String> =
            partitions.iter().flat_map(cpus_of).collect();
        let board_cpus = table_array(&board, "cpu").len();
        let boot_slot = usize::from(hosting.len() < board_cpus);
        assert_eq!(CPU_SLOTS, hosting.len() + boot_slot);
        let ept =
            (0..PLAN.partitions.len()).map(|p| tessera_manifest::heap_items::ept_pages(&PLAN, p));
        assert_eq!(Some(MAX_EPT_PAGES as u64), ept.max());
    }

    /// The hypervisor drives the UART of its board console device, at the first port range the
    /// board text gives that device; no partition is granted it.
    #[test]
    fn console_port_is_the_board_console_device_s() {
        let (board, manifest) = sources();
        let console = board["hypervisor"]["console"]
            .as_str()
            .expect("`console` names a device");
        let device = table_array(&board, "device")
            .iter()
            .find(|d| d["name"].as_str() == Some(console))
            .expect("the console is a board device");
        let first = &device["ports"].as_array().expect("a UART has ports")[0];
        assert_eq!(i64::from(CONSOLE_PORT), first["base"].as_integer().unwrap());
        assert!(first["count"].as_integer().unwrap() >= 8);
        for partition in table_array(&manifest, "partition") {
            let devices = partition.get("devices").and_then(|d| d.as_array());
            let names = devices.into_iter().flatten().map(|d| match d {
                toml::Value::String(name) => name.as_str(),
                other => other["name"].as_str().unwrap_or(""),
            });
            assert!(names.into_iter().all(|name| name != console));
        }
    }

    #[test]
    fn every_vcpu_has_its_own_pid_table_entry() {
        for (p, part) in PLAN.partitions.iter().enumerate() {
            for (v, vcpu) in part.vcpus.iter().enumerate() {
                let entry = part.pid_table.entries[vcpu.virtual_apic_id as usize];
                let target = tessera_manifest::VcpuRef {
                    partition: p as u16,
                    vcpu: v as u16,
                };
                assert_eq!(entry, Some(target));
            }
        }
    }
}
