//! The heap layout's checks can fail (a broken layout is reported), and the default manifest's
//! layout loses only the page alignment of its second PID-pointer table.

use bumpalo::Bump;
use tessera_manifest::heap::{VcpuHeap, PAGE_BYTES, PID_BYTES};
use tessera_manifest::heap_layout::{padding_bytes, violations};
use tessera_manifest::{planner, Images};

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
    let tables: usize = plan.partitions.iter().map(|p| p.pid_table.bytes()).sum();
    // Two partitions: the second table starts a page of its own; the first is followed by
    // the descriptors (after up to 63 bytes of their alignment).
    let small = tables + 4 * PID_BYTES;
    let pad = padding_bytes(&plan);
    assert!(pad < PAGE_BYTES, "{pad}");
    assert_eq!((plan.heap.region_bytes - small - pad) % PAGE_BYTES, 0);
}
