//! The heap layout's checks can fail (a broken layout is reported), the default manifest's
//! layout loses only the page alignment of its second PID-pointer table, and what may be shared
//! is shared (MSR bitmaps on the trapped timer path, all-denied I/O bitmaps) and nothing else.

use bumpalo::Bump;
use tessera_manifest::heap::{
    Build, VcpuHeap, HOST_STACK_MARGIN_BYTES, HOST_STACK_MEASURED_DEBUG_BYTES,
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

/// A trapped-timer partition's vCPUs share one MSR bitmap (a page less per extra vCPU); a
/// partition whose timer may be virtualized keeps one per vCPU; sharing across partitions is
/// reported.
#[test]
fn msr_bitmaps_are_shared_only_on_the_trapped_timer_path() {
    let preferred = default_model();
    let mut trapped = default_model();
    trapped.partitions[0].timer = TimerMode::Trapped;
    let arena = Bump::new();
    let (before, after) = (
        planner::plan(&arena, &preferred),
        planner::plan(&arena, &trapped),
    );
    let msr = |plan: &tessera_manifest::Plan<'_>, i: usize| plan.heap.vcpus[i].msr_bitmap;
    assert_ne!(msr(&before, 0), msr(&before, 1));
    assert_eq!(msr(&after, 0), msr(&after, 1), "alpha's two vCPUs share");
    assert_ne!(
        msr(&after, 2),
        msr(&after, 3),
        "beta's timer may be virtualized"
    );
    assert_eq!(violations(&after), Vec::<String>::new());
    assert_eq!(
        before.heap.region_bytes - after.heap.region_bytes,
        PAGE_BYTES
    );
    let v = reported(|v, _| v[2].msr_bitmap = v[0].msr_bitmap);
    assert!(v.iter().any(|l| l.contains("share an MSR bitmap")), "{v:?}");
}

/// Partitions granting no port share one all-denied pair of I/O bitmaps; one granting ports has
/// its own.
#[test]
fn portless_partitions_share_one_pair_of_io_bitmaps() {
    let arena = Bump::new();
    let model = default_model();
    let plan = planner::plan(&arena, &model);
    let io: Vec<usize> = plan.heap.partitions.iter().map(|p| p.io_bitmaps).collect();
    assert_eq!(io[0], io[1], "neither default partition grants a port");
    let server = tessera_manifest::check_files(
        &root().join("board/server.toml"),
        &root().join("partitions/examples/server.toml"),
        Images::Skip,
    )
    .unwrap();
    let plan = planner::plan(&arena, &server);
    assert_eq!(violations(&plan), Vec::<String>::new());
    for (p, part) in plan.partitions.iter().enumerate() {
        let shared = plan
            .heap
            .partitions
            .iter()
            .filter(|o| o.io_bitmaps == plan.heap.partitions[p].io_bitmaps)
            .count();
        assert_eq!(
            shared > 1,
            !grants_ports(part) && plan.partitions.iter().filter(|q| !grants_ports(q)).count() > 1,
            "partition {}",
            part.name
        );
    }
    assert!(plan.partitions.iter().any(grants_ports));
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
