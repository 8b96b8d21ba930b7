//! The shipped boards and manifests are valid, and their plans have the documented figures.

use std::path::{Path, PathBuf};
use tessera_manifest::{heap, heap_layout, planner, Images};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (board, manifest) pairs shipped in the repository: every file under partitions/.
pub fn shipped() -> Vec<(PathBuf, PathBuf)> {
    let found = tessera_manifest::shipped::manifests(&root()).expect("shipped manifests");
    assert!(found.len() >= 3, "partitions/ holds {found:?}");
    found.into_iter().map(|s| (s.board, s.manifest)).collect()
}

fn table_bytes(board: &str, manifest: &str) -> (Vec<usize>, usize) {
    let model =
        tessera_manifest::check_files(&root().join(board), &root().join(manifest), Images::Skip)
            .unwrap();
    let arena = bumpalo::Bump::new();
    let plan = planner::plan(&arena, &model);
    (
        plan.partitions
            .iter()
            .map(|p| p.pid_table.bytes())
            .collect(),
        plan.heap.region_bytes,
    )
}

#[test]
fn every_shipped_manifest_is_valid() {
    for (board, manifest) in shipped() {
        if let Err(e) = tessera_manifest::check_files(&board, &manifest, Images::Skip) {
            panic!("{} + {}:\n{e}", board.display(), manifest.display());
        }
    }
}

#[test]
fn default_manifest_figures() {
    // beta (0..=1) gets the low IDs and alpha (2..=3) routes to it: 4 + 2 entries.
    assert_eq!(
        table_bytes("board/emulator.toml", "partitions/default.toml"),
        (vec![32, 16], 102_416)
    );
}

#[test]
fn server_example_figures() {
    // control 0..=1 and dataplane 3..=10 see each other (11 entries each); mgmt sees itself at 2;
    // monitor (whose telemetry channel with mgmt makes it visible next to control and mgmt) at 3.
    let (tables, _) = table_bytes("board/server.toml", "partitions/examples/server.toml");
    assert_eq!(tables, vec![88, 88, 24, 32]);
}

fn cpu_slots(board: &str, manifest: &str) -> (usize, usize) {
    let model =
        tessera_manifest::check_files(&root().join(board), &root().join(manifest), Images::Skip)
            .unwrap();
    let arena = bumpalo::Bump::new();
    let plan = planner::plan(&arena, &model);
    (plan.vcpus().count(), plan.cpu_slots())
}

#[test]
fn cpu_slots_follow_the_plan() {
    // Every emulator CPU hosts a vCPU, so the boot CPU hosts one: 4 slots, not 5.
    assert_eq!(
        cpu_slots("board/emulator.toml", "partitions/default.toml"),
        (4, 4)
    );
    // 12 vCPUs on 32 CPUs: the boot CPU may host none, so one more slot.
    assert_eq!(
        cpu_slots("board/server.toml", "partitions/examples/server.toml"),
        (12, 13)
    );
}

/// `vcpu_index` names each vCPU by its position in `vcpus()`, for every shipped manifest.
#[test]
fn vcpu_index_is_the_position_in_plan_order() {
    for (board, manifest) in shipped() {
        let model = tessera_manifest::check_files(&board, &manifest, Images::Skip).unwrap();
        let arena = bumpalo::Bump::new();
        let plan = planner::plan(&arena, &model);
        let mut count = 0;
        for (index, (partition, vcpu, _)) in plan.vcpus().enumerate() {
            let target = tessera_manifest::VcpuRef { partition, vcpu };
            assert_eq!(plan.vcpu_index(target), index, "{}", manifest.display());
            count += 1;
        }
        assert!(count >= 2, "{}", manifest.display());
    }
}

#[test]
fn every_shipped_heap_layout_keeps_its_promises() {
    for (board, manifest) in shipped() {
        let model = tessera_manifest::check_files(&board, &manifest, Images::Skip).unwrap();
        let arena = bumpalo::Bump::new();
        let plan = planner::plan(&arena, &model);
        let violations = heap_layout::violations(&plan);
        assert!(
            violations.is_empty(),
            "{}: {violations:#?}",
            manifest.display()
        );
        let used: usize = plan.heap_items().map(|i| i.bytes).sum();
        assert_eq!(
            plan.heap.region_bytes,
            used + heap_layout::padding_bytes(&plan)
        );
        // Only a partial page before each PID-pointer table after the first.
        let extra_tables = plan.partitions.len() - 1;
        assert!(heap_layout::padding_bytes(&plan) < (extra_tables + 1) * heap::PAGE_BYTES);
    }
}

#[test]
fn layout_puts_guarded_stacks_first_then_pages_then_tables() {
    let model = tessera_manifest::check_files(
        &root().join("board/emulator.toml"),
        &root().join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap();
    let arena = bumpalo::Bump::new();
    let plan = planner::plan(&arena, &model);
    let mut items: Vec<heap::HeapItem> = plan.heap_items().collect();
    items.sort_by_key(|i| i.offset);
    assert_eq!(items[0].what, heap::What::VmxonRegion);
    assert_eq!(items[1].what, heap::What::HostStack);
    assert_eq!(items[1].offset, heap::PAGE_BYTES);
    let whats: Vec<heap::What> = items.iter().map(|i| i.what).collect();
    let first_table = whats
        .iter()
        .position(|w| *w == heap::What::PidPointerTable)
        .unwrap();
    assert!(
        items[..first_table]
            .iter()
            .all(|i| i.bytes % heap::PAGE_BYTES == 0),
        "page-sized items come before the first PID-pointer table"
    );
    assert_eq!(
        whats[first_table + 1],
        heap::What::PostedInterruptDescriptor
    );
    assert_eq!(*whats.last().unwrap(), heap::What::PidPointerTable);
}

#[test]
fn generated_source_names_every_partition_and_embeds_no_image_on_host() {
    let r = root();
    let generated = tessera_manifest::generate(
        &r.join("board/emulator.toml"),
        &r.join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap();
    assert!(generated
        .source
        .contains("pub static PLAN: ::tessera_manifest::Plan<'static>"));
    assert!(
        generated.source.contains("name: \"alpha\"") && generated.source.contains("name: \"beta\"")
    );
    assert!(!generated.source.contains("include_bytes!"));
    for line in [
        "pub const PARTITIONS: usize = 2;",
        "pub const VCPUS: usize = 4;",
        "pub const CPU_SLOTS: usize = 4;",
        "pub const CONSOLE_PORT: u16 = 0x3f8;",
    ] {
        assert!(generated.source.contains(line), "missing `{line}`");
    }
    assert_eq!(generated.inputs.len(), 2);
}

#[test]
fn json_report_follows_the_contract() {
    let r = root();
    let explained = tessera_manifest::explain(
        &r.join("board/emulator.toml"),
        &r.join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&explained.json).unwrap();
    assert_eq!(v["ipiv"], "required");
    let alpha = &v["partitions"][0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["cpus"][0]["board_cpu"], "cpu0");
    assert_eq!(alpha["cpus"][0]["physical_apic_id"], 0);
    assert_eq!(alpha["cpus"][0]["virtual_apic_id"], 2);
    assert_eq!(alpha["cpus"][0]["starts_at_boot"], true);
    assert_eq!(alpha["pid_table"]["entries"], 4);
    assert_eq!(alpha["pid_table"]["bytes"], 32);
    assert_eq!(alpha["pid_table"]["last_index"], 3);
    assert_eq!(alpha["pid_table"]["valid"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(alpha["routes"][0]["to"], "beta");
    assert_eq!(alpha["routes"][0]["mode"], "exitless");
    assert_eq!(v["heap"]["bytes"], 102_416);
    assert_eq!(v["heap"]["items"][0]["what"], "VMXON region");
    assert_eq!(v["heap"]["items"][0]["offset"], 0);
    assert_eq!(v["heap"]["items"][1]["what"], "host stack");
    assert_eq!(v["heap"]["items"][1]["offset"], 4096);
    assert_eq!(v["heap"]["host_stack_guards"][0], 0);
    assert!(explained
        .text
        .contains("KVM's default would allocate 65536 bytes"));
    assert_eq!(alpha["dma_unconfined"], serde_json::json!([]));
}

/// `explain` lays the heap out for the build asked: the debug build's host stacks are deeper, so
/// its heap is larger by exactly that difference per vCPU, and nothing outside the heap differs.
#[test]
fn explain_lays_the_heap_out_for_the_build_asked() {
    let r = root();
    let explain = |build| {
        let board = r.join("board/emulator.toml");
        let manifest = r.join("partitions/default.toml");
        tessera_manifest::explain_for(&board, &manifest, Images::Skip, build).unwrap()
    };
    let (debug, release) = (explain(heap::Build::Debug), explain(heap::Build::Release));
    let json = |e: &tessera_manifest::Explained| -> serde_json::Value {
        serde_json::from_str(&e.json).unwrap()
    };
    let (mut d, mut r) = (json(&debug), json(&release));
    assert_eq!(
        (&d["heap"]["build"], &r["heap"]["build"]),
        (&"debug".into(), &"release".into())
    );
    let stack = |v: &serde_json::Value| v["heap"]["host_stack_bytes"].as_u64().unwrap();
    let (debug_stack, release_stack) = (stack(&d), stack(&r));
    assert!(
        debug_stack > release_stack,
        "{debug_stack} vs {release_stack}"
    );
    let stacks: Vec<u64> = d["heap"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["what"] == "host stack")
        .map(|i| i["bytes"].as_u64().unwrap())
        .collect();
    let vcpus = d["partitions"].as_array().unwrap().iter();
    let vcpus = vcpus
        .map(|p| p["cpus"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(
        stacks,
        vec![debug_stack; vcpus],
        "one debug-sized stack per vCPU"
    );
    let heap_bytes = |v: &serde_json::Value| v["heap"]["bytes"].as_u64().unwrap();
    assert_eq!(
        heap_bytes(&d) - heap_bytes(&r),
        vcpus as u64 * (debug_stack - release_stack)
    );
    let heading = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("heap "))
            .unwrap()
            .to_string()
    };
    assert!(heading(&debug.text).starts_with("heap (debug build): "));
    assert!(heading(&release.text).starts_with("heap (release build): "));
    let stack_line = format!(
        "{debug_stack} bytes: the debug build's measured {}",
        heap::HOST_STACK_MEASURED_DEBUG_BYTES
    );
    assert!(debug.text.contains(&stack_line), "{}", debug.text);
    let before_heap = |text: &str| text.split_once("\nheap (").unwrap().0.to_string();
    assert_eq!(before_heap(&debug.text), before_heap(&release.text));
    d.as_object_mut().unwrap().remove("heap");
    r.as_object_mut().unwrap().remove("heap");
    assert_eq!(d, r, "only the heap depends on the build");
}

#[test]
fn explain_says_which_partition_a_bus_master_opens_all_memory_to() {
    let r = root();
    let explained = tessera_manifest::explain(
        &r.join("board/server.toml"),
        &r.join("partitions/examples/server.toml"),
        Images::Skip,
    )
    .unwrap();
    for (device, partition) in [("nvme0", "control"), ("nic0", "dataplane")] {
        let line = format!("DMA unconfined: `{device}` can master the bus and no IOMMU is programmed, so `{partition}` can read and write ALL host memory through it");
        assert!(
            explained.text.contains(&line),
            "missing `{line}` in:\n{}",
            explained.text
        );
    }
    assert_eq!(explained.text.matches("DMA unconfined").count(), 2);
    let v: serde_json::Value = serde_json::from_str(&explained.json).unwrap();
    assert_eq!(
        v["partitions"][0]["dma_unconfined"],
        serde_json::json!(["nvme0"])
    );
    assert_eq!(
        v["partitions"][1]["dma_unconfined"],
        serde_json::json!(["nic0"])
    );
}

#[test]
fn explain_says_whether_the_board_contains_a_bus_locking_guest() {
    let r = root();
    let cases = [
        ("board/emulator.toml", "partitions/default.toml", false),
        ("board/server.toml", "partitions/examples/server.toml", true),
    ];
    for (board, manifest, contained) in cases {
        let explained =
            tessera_manifest::explain(&r.join(board), &r.join(manifest), Images::Skip).unwrap();
        let line = if contained {
            "bus locks: contained: each one a guest takes exits"
        } else {
            "bus locks: NOT contained: board `emulator` states no bus-lock VM exit"
        };
        assert!(explained.text.contains(line), "{board}: missing `{line}`");
        let v: serde_json::Value = serde_json::from_str(&explained.json).unwrap();
        assert_eq!(v["bus_lock_exit"], contained, "{board}");
    }
}
