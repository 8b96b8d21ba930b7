//! The executable IPIv model (SDM pseudocode) run against planned PID-pointer tables: for every
//! sender vCPU, every virtual APIC ID from 0 to past the last index, and representative vectors,
//! an IPI is posted to the right vCPU exactly when a route (or the sender's own partition) allows
//! it and the vector is at least 16; otherwise the sender takes an APIC-write exit. Checked on the
//! shipped manifests and, with proptest, on generated valid manifests.

use proptest::prelude::*;
use std::fmt::Write;
use std::path::Path;
use tessera_manifest::ipiv_model::{
    classify_x2apic_icr, entry_value, virtualize, IcrWrite, Outcome,
};
use tessera_manifest::{heap_layout, planner, Images, Plan, RouteMode, VcpuRef};

const VECTORS: [u8; 20] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 100, 255,
];
const MAXPHYADDR: u32 = 46;

/// A fake, distinct, 64-byte aligned PID address per vCPU.
fn pid_address(plan: &Plan<'_>, t: VcpuRef) -> u64 {
    let index = plan
        .vcpus()
        .position(|(p, v, _)| p == t.partition && v == t.vcpu)
        .unwrap();
    0x4000_0000 + 64 * index as u64
}

/// What the manifest says should happen, computed from routes and vCPUs only (not the tables).
fn expected(plan: &Plan<'_>, sender: u16, apic_id: u32, vector: u8) -> Outcome {
    let part = &plan.partitions[usize::from(sender)];
    let exitless = part
        .routes
        .iter()
        .filter(|r| r.mode == RouteMode::Exitless)
        .map(|r| r.to);
    let reachable: Vec<u16> = std::iter::once(sender).chain(exitless).collect();
    let targets: Vec<VcpuRef> = plan
        .vcpus()
        .filter(|(p, _, v)| reachable.contains(p) && v.virtual_apic_id == apic_id)
        .map(|(partition, vcpu, _)| VcpuRef { partition, vcpu })
        .collect();
    assert!(
        targets.len() <= 1,
        "APIC ID {apic_id} is ambiguous for `{}`",
        part.name
    );
    match targets.first() {
        Some(&t) if vector >= 16 && plan.ipiv.enabled => Outcome::Posted {
            pid_address: pid_address(plan, t),
            vector,
        },
        _ => Outcome::ApicWriteExit,
    }
}

/// Runs the model for every sender x APIC ID x vector; returns the number of IPIs checked.
fn check_plan(plan: &Plan<'_>) -> usize {
    let mut checked = 0;
    for (sender, _, _) in plan.vcpus() {
        let table = &plan.partitions[usize::from(sender)].pid_table;
        for apic_id in 0..=u32::from(table.last_index) + 2 {
            for vector in VECTORS {
                let icr = (u64::from(apic_id) << 32) | u64::from(vector);
                let outcome = match classify_x2apic_icr(icr) {
                    IcrWrite::Virtualize { vector, apic_id } if plan.ipiv.enabled => {
                        let entry =
                            |t: u16| entry_value(table, t, |target| pid_address(plan, target));
                        virtualize(entry, table.last_index, MAXPHYADDR, vector, apic_id)
                    }
                    _ => Outcome::ApicWriteExit,
                };
                assert_eq!(
                    outcome,
                    expected(plan, sender, apic_id, vector),
                    "sender partition {sender}, APIC ID {apic_id}, vector {vector}"
                );
                if let Outcome::Posted { pid_address: a, .. } = outcome {
                    let (to, _, _) = plan
                        .vcpus()
                        .find(|&(p, v, _)| {
                            pid_address(
                                plan,
                                VcpuRef {
                                    partition: p,
                                    vcpu: v,
                                },
                            ) == a
                        })
                        .unwrap();
                    let routed = plan.partitions[usize::from(sender)]
                        .routes
                        .iter()
                        .any(|r| r.to == to && r.mode == RouteMode::Exitless);
                    assert!(
                        to == sender || routed,
                        "delivery from {sender} to {to} crosses an unrouted boundary"
                    );
                }
                checked += 1;
            }
        }
    }
    checked
}

/// The table sizes follow the rule: highest exitless-reachable virtual APIC ID + 1.
fn check_table_sizes(plan: &Plan<'_>) {
    for (p, part) in plan.partitions.iter().enumerate() {
        let exitless: Vec<u16> = part
            .routes
            .iter()
            .filter(|r| r.mode == RouteMode::Exitless)
            .map(|r| r.to)
            .collect();
        let highest = plan
            .vcpus()
            .filter(|(q, _, _)| *q as usize == p || exitless.contains(q))
            .map(|(_, _, v)| v.virtual_apic_id)
            .max()
            .unwrap();
        assert_eq!(part.pid_table.entries.len(), highest as usize + 1);
        assert_eq!(usize::from(part.pid_table.last_index), highest as usize);
        assert_eq!(part.pid_table.bytes(), 8 * (highest as usize + 1));
    }
}

fn plan_files(board: &Path, manifest: &Path, f: impl FnOnce(&Plan<'_>)) {
    let model = tessera_manifest::check_files(board, manifest, Images::Skip)
        .unwrap_or_else(|e| panic!("{e}"));
    let arena = bumpalo::Bump::new();
    f(&planner::plan(&arena, &model));
}

#[test]
fn shipped_manifests_deliver_exactly_as_routed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pairs = [
        (
            "board/emulator.toml",
            "partitions/default.toml",
            2 * 6 * 20 + 2 * 4 * 20,
        ),
        (
            "board/emulator.toml",
            "partitions/examples/emulator-three.toml",
            2 * 5 * 20 + 5 * 20 + 6 * 20,
        ),
        (
            "board/server.toml",
            "partitions/examples/server.toml",
            10 * 13 * 20 + 5 * 20 + 6 * 20,
        ),
    ];
    for (board, manifest, ipis) in pairs {
        plan_files(&root.join(board), &root.join(manifest), |plan| {
            check_table_sizes(plan);
            assert_eq!(check_plan(plan), ipis);
        });
    }
}

#[test]
fn default_manifest_beta_cannot_reach_alpha() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    plan_files(
        &root.join("board/emulator.toml"),
        &root.join("partitions/default.toml"),
        |plan| {
            let beta = &plan.partitions[1].pid_table;
            for alpha_vcpu in plan.partitions[0].vcpus {
                let id = alpha_vcpu.virtual_apic_id;
                assert!(
                    id > u32::from(beta.last_index)
                        || beta.entries[id as usize].is_none_or(|t| t.partition == 1)
                );
            }
        },
    );
}

const BOARD: &str = r#"name = "prop"
ipiv = true
[hypervisor]
base = "2 MiB"
bytes = "14 MiB"
console = "com1"
[[ram]]
base = "1 MiB"
bytes = "1 GiB"
[[device]]
name = "com1"
ports = [{ base = 0x3F8, count = 8 }]
"#;

/// A generated manifest: CPU counts per partition, routes, explicit APIC-ID starts, boot flags.
#[derive(Debug, Clone)]
struct Gen {
    sizes: Vec<usize>,
    routes: Vec<(usize, usize, u8)>,
    explicit: Vec<Option<u32>>,
    ipiv_off: bool,
}

fn gen() -> impl Strategy<Value = Gen> {
    (1usize..=5, any::<bool>())
        .prop_flat_map(|(n, ipiv_off)| {
            let sizes = proptest::collection::vec(1usize..=3, n);
            let routes = proptest::collection::vec((0..n, 0..n, 0u8..3), 0..=2 * n);
            let explicit = proptest::collection::vec(proptest::option::weighted(0.3, 0u32..12), n);
            (sizes, routes, explicit, Just(ipiv_off))
        })
        .prop_map(|(sizes, routes, explicit, ipiv_off)| Gen {
            sizes,
            routes,
            explicit,
            ipiv_off,
        })
}

/// Board with 15 CPUs at sparse APIC IDs (even IDs, a second package at 0x40).
fn board_text() -> String {
    let mut b = BOARD.to_string();
    for i in 0..15u32 {
        let apic = if i < 8 { 2 * i } else { 0x40 + 2 * (i - 8) };
        let _ = write!(
            b,
            "[[cpu]]\nname = \"c{i}\"\napic_id = {apic}\npackage = {}\ncore = {i}\nthread = 0\n",
            i / 8
        );
    }
    b
}

fn manifest_text(g: &Gen) -> String {
    let mode = if g.ipiv_off { "off" } else { "required" };
    let mut m = format!("board = \"prop\"\nipiv = \"{mode}\"\n");
    let mut cpu = 0;
    for (p, &size) in g.sizes.iter().enumerate() {
        let cpus: Vec<String> = (cpu..cpu + size).map(|c| format!("\"c{c}\"")).collect();
        let _ = write!(
            m,
            "[[partition]]\nname = \"p{p}\"\ncpus = [{}]\nmemory = \"4 MiB\"\nimage = \"none\"\n",
            cpus.join(", ")
        );
        if size > 1 {
            let _ = writeln!(m, "boot_cpus = [\"c{cpu}\"]");
        }
        if let Some(first) = g.explicit[p] {
            let _ = writeln!(
                m,
                "apic_ids = {{ first = {first}, last = {} }}",
                first + size as u32 - 1
            );
        }
        cpu += size;
        let mut seen = Vec::new();
        for &(from, to, kind) in &g.routes {
            if from != p || to == p || seen.contains(&to) || kind == 0 {
                continue;
            }
            seen.push(to);
            let route = if kind == 1 {
                "mode = \"exitless\""
            } else {
                "mode = \"trapped\"\nvectors = [32, 64]"
            };
            let _ = write!(m, "[[partition.route]]\nto = \"p{to}\"\n{route}\n");
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_manifests_deliver_exactly_as_routed(g in gen()) {
        let dir = std::env::temp_dir().join(format!("tessera-ipiv-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("board.toml"), board_text()).unwrap();
        std::fs::write(dir.join("manifest.toml"), manifest_text(&g)).unwrap();
        let result = tessera_manifest::check_files(&dir.join("board.toml"), &dir.join("manifest.toml"), Images::Skip);
        // Explicit ranges may collide; such manifests are rejected (with that error only).
        let model = match result {
            Ok(model) => model,
            Err(e) => {
                prop_assert!(e.0.iter().all(|d| d.message.contains("overlap")), "{}", e);
                return Err(TestCaseError::reject("explicit APIC-ID ranges collide"));
            }
        };
        let arena = bumpalo::Bump::new();
        let plan = planner::plan(&arena, &model);
        check_table_sizes(&plan);
        prop_assert!(check_plan(&plan) > 0);
    }

    #[test]
    fn generated_plans_get_a_layout_that_keeps_its_promises(g in gen()) {
        let dir = std::env::temp_dir().join(format!("tessera-heap-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("board.toml"), board_text()).unwrap();
        let g = Gen { explicit: vec![None; g.sizes.len()], ..g };
        std::fs::write(dir.join("manifest.toml"), manifest_text(&g)).unwrap();
        let model = tessera_manifest::check_files(&dir.join("board.toml"), &dir.join("manifest.toml"), Images::Skip).unwrap();
        let arena = bumpalo::Bump::new();
        let plan = planner::plan(&arena, &model);
        let violations = heap_layout::violations(&plan);
        prop_assert!(violations.is_empty(), "{:#?}", violations);
    }
}

/// The largest table the checker accepts (highest virtual APIC ID 65535, scenario `apic-id-top`)
/// plans to 65536 entries with last index 65535, its heap fits the hypervisor range, and the
/// generated source hands that index to the kernel.
#[test]
fn the_largest_accepted_table_plans_and_generates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (board, manifest) = (
        root.join("board/emulator.toml"),
        root.join("tests/scenarios/apic-id-top.toml"),
    );
    plan_files(&board, &manifest, |plan| {
        check_table_sizes(plan);
        let table = &plan.partitions[0].pid_table;
        assert_eq!(table.last_index, u16::MAX);
        assert_eq!(table.entries.len(), 1 << 16);
        assert_eq!(table.bytes(), 512 << 10);
        assert!(table.entries[65535].is_some());
        assert!(plan.heap.region_bytes >= table.bytes() && plan.heap.region_bytes < 1 << 20);
        assert!(heap_layout::violations(plan).is_empty());
        assert_eq!(check_plan(plan), 4 * 65538 * 20);
    });
    let generated = tessera_manifest::generate(&board, &manifest, Images::Skip).unwrap();
    assert!(
        squashed(&generated.source).contains(&squashed("last_index: 65535 }")),
        "no last index 65535 in the generated source"
    );
}

/// Generated source without whitespace and trailing commas (see `tests/common`).
fn squashed(source: &str) -> String {
    let joined: String = source.split_whitespace().collect();
    joined
        .replace(",}", "}")
        .replace(",]", "]")
        .replace(",)", ")")
}
