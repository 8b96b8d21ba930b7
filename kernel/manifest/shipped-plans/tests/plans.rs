//! Every shipped manifest's generated plan: present, consistent with its own constants, its heap
//! layout keeps its promises, and its source matches the committed snapshot.

use std::path::{Path, PathBuf};
use tessera_shipped_plans::ALL;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

#[test]
fn every_shipped_manifest_has_a_plan_here() {
    let shipped = tessera_manifest::shipped::manifests(&root()).unwrap();
    assert_eq!(ALL.len(), shipped.len());
    assert!(ALL.iter().any(|s| s.manifest == "partitions/default.toml"));
}

/// Each generated heap layout (`HEAP_BYTES` and every offset) is what the planner lays out for
/// the release build from the manifest's files: the code generator's transcription is checked,
/// not compared with itself (the generated `PLAN.heap.region_bytes` is `HEAP_BYTES`).
#[test]
fn generated_heaps_are_the_planner_s() {
    let shipped = tessera_manifest::shipped::manifests(&root()).unwrap();
    for s in ALL {
        let files = shipped.iter().find(|f| f.manifest.ends_with(s.manifest));
        let files = files.unwrap_or_else(|| panic!("{} is not shipped", s.manifest));
        let images = tessera_manifest::Images::Skip;
        let model = tessera_manifest::check_files(&files.board, &files.manifest, images).unwrap();
        let arena = bumpalo::Bump::new();
        let build = tessera_manifest::heap::Build::Release;
        let planned = tessera_manifest::planner::plan_for(&arena, &model, build);
        assert_eq!(s.heap_bytes, planned.heap.region_bytes, "{}", s.manifest);
        assert_eq!(s.plan.heap, planned.heap, "{}", s.manifest);
    }
}

#[test]
fn constants_match_their_plans() {
    for s in ALL {
        let plan = s.plan;
        assert_eq!(s.partitions, plan.partitions.len(), "{}", s.manifest);
        assert_eq!(s.vcpus, plan.vcpus().count(), "{}", s.manifest);
        assert_eq!(s.cpu_slots, plan.cpu_slots(), "{}", s.manifest);
        assert_eq!(
            Some(s.console_port),
            plan.console.ports.first().map(|p| p.base)
        );
        let ept = (0..plan.partitions.len())
            .map(|p| tessera_manifest::heap_items::ept_pages(plan, p) as usize)
            .max();
        assert_eq!(Some(s.max_ept_pages), ept, "{}", s.manifest);
        let violations = tessera_manifest::heap_layout::violations(plan);
        assert!(violations.is_empty(), "{}: {violations:#?}", s.manifest);
    }
}

/// Each generated source equals `snapshots/<module>.rs.snap`; with `TESSERA_UPDATE_SNAPSHOTS=1`
/// the snapshots are rewritten instead (then review `git diff`). A snapshot no manifest produces
/// fails too.
#[test]
fn generated_sources_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let update = std::env::var("TESSERA_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let mut differing = Vec::new();
    for s in ALL {
        let generated = Path::new(env!("OUT_DIR")).join(format!("{}.rs", s.module));
        let source = std::fs::read_to_string(&generated).unwrap();
        let snapshot = dir.join(format!("{}.rs.snap", s.module));
        if update {
            std::fs::write(&snapshot, &source).unwrap();
        } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(source.as_str()) {
            differing.push(format!("{} ({})", snapshot.display(), s.manifest));
        }
    }
    let known: Vec<String> = ALL
        .iter()
        .map(|s| format!("{}.rs.snap", s.module))
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !known.contains(&name) {
            differing.push(format!("{name} (no shipped manifest generates it)"));
        }
    }
    assert!(
        differing.is_empty(),
        "generated plans differ from their snapshots: {differing:#?}\nupdate with \
         `TESSERA_UPDATE_SNAPSHOTS=1 cargo test -p tessera-shipped-plans` and review the diff"
    );
}
