//! The heap layout's checks can fail (a broken layout is reported), the default manifest's
//! layout loses only the page alignment of its second PID-pointer table, every partition shares
//! the MSR bitmaps (one trapping IA32_TSC_DEADLINE, one passing it when a timer may be
//! virtualized), and only partitions granting ports have I/O bitmaps.

use bumpalo::Bump;
use tessera_manifest::heap::{
    Build, Owner, VcpuHeap, What, HOST_STACK_MARGIN_BYTES, HOST_STACK_MEASURED_DEBUG_BYTES,
    HOST_STACK_MEASURED_RELEASE_BYTES, PAGE_BYTES,
};
use tessera_manifest::heap_items::grants_ports;
use tessera_manifest::heap_layout::{padding_bytes, violations};
use tessera_manifest::{planner, Images, TimerMode};

/// A layout with the violation `break_it` makes is reported (so the shipped-manifest tests
/// that expect none can fail).
fn reported(break_it: impl Fn(&mut Vec<VcpuHeap>, &mut usize)) -> Vec<String> {
    let model = tessera_manifest::check_files(
        &root().join("board/emulator.toml"),
        &root().join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap();
    let arena = Bump::new();
    let mut plan = planner::plan(&arena, &model);
    assert_eq!(violations(&plan), Vec::<String>::new());
    let mut vcpus = plan.heap.vcpus.to_vec();
    let mut region = plan.heap.region_bytes;
    break_it(&mut vcpus, &mut region);
    plan.heap.vcpus = arena.alloc_slice_copy(&vcpus);
    plan.heap.region_bytes = region;
    violations(&plan)
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn overlaps_misalignment_slack_and_unguarded_stacks_are_reported() {
    let v = reported(|v, _| v[1].vmcs = v[0].vmcs);
    assert!(v.iter().any(|l| l.contains("overlaps")), "{v:?}");
    let v = reported(|v, _| v[0].pid += 8);
    assert!(v.iter().any(|l| l.contains("not aligned")), "{v:?}");
    let v = reported(|_, r| *r += 4096);
    assert!(v.iter().any(|l| l.contains("last item ends")), "{v:?}");
    let v = reported(|v, _| v[0].host_stack_guard = v[0].virtual_apic);
    assert!(v.iter().any(|l| l.contains("not right above")), "{v:?}");
}

#[test]
fn the_default_manifest_has_only_the_padding_of_its_second_table() {
    let model = tessera_manifest::check_files(
        &root().join("board/emulator.toml"),
        &root().join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap();
    let arena = Bump::new();
    let plan = planner::plan(&arena, &model);
    let tables: Vec<usize> = plan
        .partitions
        .iter()
        .map(|p| p.pid_table.bytes())
        .collect();
    // By hand: after the page-sized items, alpha's 32-byte table starts a page, the four 64-byte
    // descriptors follow at the next 64-byte boundary (32 bytes of alignment), and beta's table
    // starts the next page (4096 - 64 - 4 x 64 = 3,776 bytes before it): 3,808 bytes. Laying
    // beta's 16-byte table first would leave 3,824; the region's size alone cannot tell.
    assert_eq!(tables, [32, 16]);
    assert_eq!(padding_bytes(&plan), (64 - 32) + (4096 - 64 - 4 * 64));
}

fn default_model() -> tessera_manifest::model::Model {
    tessera_manifest::check_files(
        &root().join("board/emulator.toml"),
        &root().join("partitions/default.toml"),
        Images::Skip,
    )
    .unwrap()
}

/// One MSR bitmap trapping IA32_TSC_DEADLINE serves every partition; the one passing it exists
/// only while some partition's timer may be virtualized, and neither grows with the vCPUs.
#[test]
fn msr_bitmaps_are_shared_by_every_partition() {
    let preferred = default_model();
    let mut trapped = default_model();
    for p in &mut trapped.partitions {
        p.timer = TimerMode::Trapped;
    }
    let mut one_trapped = default_model();
    one_trapped.partitions[0].timer = TimerMode::Trapped;
    let arena = Bump::new();
    let plans = [
        planner::plan(&arena, &preferred),
        planner::plan(&arena, &one_trapped),
        planner::plan(&arena, &trapped),
    ];
    for plan in &plans {
        assert_eq!(violations(plan), Vec::<String>::new());
    }
    let count = |plan: &tessera_manifest::Plan<'_>, what: What| {
        plan.heap_items().filter(|i| i.what == what).count()
    };
    let passed: Vec<usize> = plans
        .iter()
        .map(|p| count(p, What::MsrBitmapDeadlinePassed))
        .collect();
    assert_eq!(passed, [1, 1, 0]);
    for plan in &plans {
        assert_eq!(count(plan, What::MsrBitmapDeadlineTrapped), 1);
        let owners: Vec<Owner> = plan
            .heap_items()
            .filter(|i| {
                matches!(
                    i.what,
                    What::MsrBitmapDeadlineTrapped | What::MsrBitmapDeadlinePassed
                )
            })
            .map(|i| i.owner)
            .collect();
        assert!(owners.iter().all(|o| matches!(
            o,
            Owner::EveryPartition | Owner::TimerVirtualizingPartitions
        )));
    }
    assert_eq!(
        plans[0].heap.region_bytes - plans[2].heap.region_bytes,
        PAGE_BYTES
    );
    assert_eq!(plans[0].heap.region_bytes, plans[1].heap.region_bytes);
    let mut broken = planner::plan(&arena, &preferred);
    broken.heap.msr_bitmaps.deadline_passed = None;
    let v = violations(&broken);
    assert!(
        v.iter()
            .any(|l| l.contains("passing IA32_TSC_DEADLINE is missing")),
        "{v:?}"
    );
    let mut same = planner::plan(&arena, &preferred);
    same.heap.msr_bitmaps.deadline_passed = Some(same.heap.msr_bitmaps.deadline_trapped);
    let v = violations(&same);
    assert!(v.iter().any(|l| l.contains("one page")), "{v:?}");
}

/// Only partitions granting ports have I/O bitmaps (a pair each); the others have none.
#[test]
fn only_partitions_granting_ports_have_io_bitmaps() {
    let arena = Bump::new();
    let model = default_model();
    let plan = planner::plan(&arena, &model);
    assert!(
        plan.heap.partitions.iter().all(|p| p.io_bitmaps.is_none()),
        "neither default partition grants a port"
    );
    assert!(!plan
        .heap_items()
        .any(|i| matches!(i.what, What::IoBitmapA | What::IoBitmapB)));
    let server = tessera_manifest::check_files(
        &root().join("board/server.toml"),
        &root().join("partitions/examples/server.toml"),
        Images::Skip,
    )
    .unwrap();
    let plan = planner::plan(&arena, &server);
    assert_eq!(violations(&plan), Vec::<String>::new());
    for (p, part) in plan.partitions.iter().enumerate() {
        assert_eq!(
            plan.heap.partitions[p].io_bitmaps.is_some(),
            grants_ports(part),
            "partition {}",
            part.name
        );
    }
    assert!(plan.partitions.iter().any(grants_ports));
    assert!(plan.partitions.iter().any(|p| !grants_ports(p)));
    let mut broken = plan;
    let mut parts = broken.heap.partitions.to_vec();
    let granting = plan.partitions.iter().position(grants_ports).unwrap();
    parts[granting].io_bitmaps = None;
    broken.heap.partitions = arena.alloc_slice_copy(&parts);
    let v = violations(&broken);
    assert!(
        v.iter()
            .any(|l| l.contains("has no I/O bitmaps but grants a port")),
        "{v:?}"
    );
}

/// Host stacks are the measured depth plus the margin, in whole pages, per build.
#[test]
fn host_stacks_are_sized_from_the_measured_depth() {
    for (build, measured) in [
        (Build::Release, HOST_STACK_MEASURED_RELEASE_BYTES),
        (Build::Debug, HOST_STACK_MEASURED_DEBUG_BYTES),
    ] {
        let bytes = build.host_stack_bytes();
        assert_eq!(bytes % PAGE_BYTES, 0);
        assert!(bytes >= measured + HOST_STACK_MARGIN_BYTES);
        assert!(bytes - PAGE_BYTES < measured + HOST_STACK_MARGIN_BYTES);
        let arena = Bump::new();
        let model = default_model();
        let plan = planner::plan_for(&arena, &model, build);
        assert_eq!(plan.heap.host_stack_bytes, bytes);
        assert_eq!(violations(&plan), Vec::<String>::new());
    }
}
