//! Reject tests for what partitions may share only when the manifest says so: SMT sibling
//! threads (`share_cores_with`), bus-mastering devices (`dma = "unconfined"`) and a guest whose
//! vCPU 0 waits at boot (`vcpu0_waits_for_sipi`).

mod common;

use common::{all_explained, check, edit, errors, has, BOARD, MANIFEST};

/// The fixture board with cpu2 (beta's) made the second thread of cpu1's core (alpha's).
fn board_with_shared_core() -> String {
    edit(BOARD, "core = 2\nthread = 0", "core = 1\nthread = 1")
}

/// The fixture manifest with `lines` added to partition `alpha` (from line 9 on).
fn alpha_with(lines: &str) -> String {
    edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        &format!("image = \"guest.elf\"\n{lines}\n\n"),
    )
}

/// The fixture manifest with `lines` appended to partition `beta` (from line 19 on).
fn beta_with(manifest: &str, lines: &str) -> String {
    format!("{manifest}{lines}\n")
}

#[test]
fn smt_siblings_in_two_partitions_need_an_opt_in() {
    let out = errors(&board_with_shared_core(), MANIFEST);
    has(
        &out,
        &[
            "manifest.toml:16:9: CPU `cpu2` of partition `beta` is an SMT sibling of `cpu1`, which partition `alpha` owns",
            "found: `cpu2` and `cpu1` are threads of package 0, core 1",
            "accepted: CPUs of cores no other partition uses, or share_cores_with = [\"alpha\"] in `beta` (or [\"beta\"] in `alpha`) to accept the sharing",
            "hint: sibling threads share caches and execution units",
            "1 error(s)",
        ],
    );
    all_explained(&out);
    // Either side of the pair may say it.
    let b = board_with_shared_core();
    assert!(check(&b, &alpha_with("share_cores_with = [\"beta\"]")).is_ok());
    assert!(check(&b, &beta_with(MANIFEST, "share_cores_with = [\"alpha\"]")).is_ok());
    // Threads of one core inside one partition are fine.
    let b = edit(BOARD, "core = 1\nthread = 0", "core = 0\nthread = 1");
    assert!(check(&b, MANIFEST).is_ok());
}

#[test]
fn smt_opt_in_must_name_a_sibling_partition() {
    let out = errors(BOARD, &alpha_with("share_cores_with = [\"beta\"]"));
    has(
        &out,
        &[
            "manifest.toml:9:21: partitions `alpha` and `beta` share no core: share_cores_with = [\"beta\"] accepts nothing",
            "found: \"beta\"",
            "accepted: only partitions whose CPUs are SMT siblings of this partition's",
            "hint: remove the entry",
        ],
    );
    all_explained(&out);
    let out = errors(
        BOARD,
        &alpha_with("share_cores_with = [\"betta\", \"alpha\"]"),
    );
    has(
        &out,
        &[
            "manifest.toml:9:21: share_cores_with names unknown partition `betta`",
            "accepted: another partition: `beta`",
            "hint: did you mean `beta`?",
            "manifest.toml:9:30: partition `alpha` lists itself in share_cores_with",
            "2 error(s)",
        ],
    );
    all_explained(&out);
}

#[test]
fn a_bus_master_needs_dma_unconfined() {
    let b = edit(
        BOARD,
        "bytes = \"4 KiB\" }]",
        "bytes = \"4 KiB\" }]\ndma = true",
    );
    let out = errors(&b, &alpha_with("devices = [\"hpet\"]"));
    has(
        &out,
        &[
            "manifest.toml:9:12: device `hpet` can master the bus: given to `alpha`, it can read and write all host memory (no IOMMU is programmed)",
            "found: \"hpet\" (the board says dma = true, line 51)",
            "accepted: { name = \"hpet\", dma = \"unconfined\" }, which accepts that `alpha` is not isolated from memory through this device",
            "hint: pass bus-mastering devices only to partitions trusted with the whole machine",
        ],
    );
    all_explained(&out);
    let acknowledged = alpha_with("devices = [{ name = \"hpet\", dma = \"unconfined\" }]");
    let model = check(&b, &acknowledged).expect("acknowledged");
    assert!(model.partitions[0].devices[0].dma);
    // The acknowledgement reaches the plan, where explain reads it.
    let d = common::dir(&b, &acknowledged);
    let explained = tessera_manifest::explain(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Skip,
    )
    .unwrap();
    has(&explained.text, &["DMA unconfined: `hpet` can master the bus and no IOMMU is programmed, so `alpha` can read and write ALL host memory"]);
}

#[test]
fn dma_acknowledgement_where_no_dma_is_refused() {
    let out = errors(
        BOARD,
        &alpha_with("devices = [{ name = \"com2\", dma = \"unconfined\" }]"),
    );
    has(
        &out,
        &[
            "manifest.toml:9:35: device `com2` cannot master the bus: dma = \"unconfined\" acknowledges nothing",
            "found: dma = \"unconfined\"",
            "accepted: \"com2\" (the board declares no dma for it, line 46)",
            "hint: remove the acknowledgement",
        ],
    );
    all_explained(&out);
    let out = errors(
        BOARD,
        &alpha_with("console = { name = \"hypercall\", dma = \"unconfined\" }"),
    );
    has(
        &out,
        &["manifest.toml:9:39: the hypercall console is not a device: dma does not apply"],
    );
    all_explained(&out);
    let out = errors(
        BOARD,
        &alpha_with("devices = [{ name = \"com2\", dma = \"confined\" }]"),
    );
    has(
        &out,
        &[
            "manifest.toml:9:35: unknown value \"confined\" for `dma`",
            "found: dma = \"confined\"",
            "accepted: \"unconfined\"",
            "hint: did you mean `unconfined`?",
            "1 error(s)",
        ],
    );
    all_explained(&out);
}

#[test]
fn boot_cpus_must_start_vcpu0_unless_said_otherwise() {
    let m = beta_with(MANIFEST, "boot_cpus = [\"cpu3\"]");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:19:13: boot_cpus of partition `beta` leaves out vCPU 0 (`cpu2`), the guest's bootstrap processor",
            "found: boot_cpus = [`cpu3`]",
            "accepted: boot_cpus that include \"cpu2\", or vcpu0_waits_for_sipi = true to start another vCPU first on purpose",
            "1 error(s)",
        ],
    );
    all_explained(&out);
    let m = beta_with(&m, "vcpu0_waits_for_sipi = true");
    let model = check(BOARD, &m).expect("said on purpose");
    let starts: Vec<bool> = model.partitions[1]
        .vcpus
        .iter()
        .map(|v| v.starts_at_boot)
        .collect();
    assert_eq!(starts, [false, true]);
    let out = errors(BOARD, &beta_with(MANIFEST, "vcpu0_waits_for_sipi = true"));
    has(
        &out,
        &[
            "manifest.toml:19:24: vcpu0_waits_for_sipi = true, but vCPU 0 (`cpu2`) of partition `beta` starts at boot",
            "found: vcpu0_waits_for_sipi = true",
            "accepted: the flag only with boot_cpus that leave out \"cpu2\"",
        ],
    );
    all_explained(&out);
}
