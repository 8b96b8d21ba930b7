//! The explain report's "IPI paths" section: which IPIs leave the guest on the emulator board,
//! for the shipped three-partition example (an exitless and a trapped route).

use std::path::Path;
use tessera_manifest::Images;

fn explained() -> tessera_manifest::Explained {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    tessera_manifest::explain(
        &root.join("board/emulator.toml"),
        &root.join("partitions/examples/emulator-three.toml"),
        Images::Skip,
    )
    .unwrap()
}

#[test]
fn text_names_every_path_and_its_exits() {
    let text = explained().text;
    for line in [
        "the board offers IPIv: the figures with IPIv apply",
        "    fixed unicast to its own vCPUs: with IPIv no exit; without 1 sender exit (posted by the hypervisor)",
        "    exitless route -> `beta`: with IPIv no exit; without 1 sender exit",
        "    trapped route -> `gamma` (vectors 0x30, 0x31): 1 sender exit; other vectors dropped and counted as denied",
        "    SELF IPI register (x2APIC 0x83F): no exit",
        "    shorthands, broadcast, logical destinations: 1 sender exit (emulated inside the partition)",
        "    NMI: 1 sender exit + 1 exit per other target (to inject it)",
        "    INIT, start-up: 1 sender exit",
        "    any other APIC ID, vector < 16: 1 sender exit, dropped and counted as denied",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn json_lists_the_paths_of_each_partition() {
    let v: serde_json::Value = serde_json::from_str(&explained().json).unwrap();
    let alpha = &v["ipi_paths"][0];
    assert_eq!(alpha["partition"], "alpha");
    let paths = alpha["paths"].as_array().unwrap();
    assert_eq!(paths[0]["with_ipiv"], "no exit");
    assert_eq!(paths[1]["path"], "exitless route -> `beta`");
    assert_eq!(paths[1]["with_ipiv"], "no exit");
    assert!(paths[2]["path"]
        .as_str()
        .unwrap()
        .starts_with("trapped route -> `gamma`"));
    assert_eq!(paths[2]["with_ipiv"], paths[2]["without_ipiv"]);
    let beta = v["ipi_paths"][1]["paths"].as_array().unwrap();
    assert!(beta
        .iter()
        .all(|p| !p["path"].as_str().unwrap().contains("route")));
}

#[test]
fn text_names_each_timer_path_and_its_exits() {
    let text = explained().text;
    for line in [
        "timer paths, VM exits per guest timer event",
        "  partition `alpha` (timer = \"preferred\": APIC-timer virtualization where the CPU offers it, the trapped path otherwise):",
        "    TSC-deadline arm (WRMSR IA32_TSC_DEADLINE), read, or write of 0: virtualized no exit; trapped 1 exit (WRMSR or RDMSR)",
        "    TSC-deadline expiry: virtualized no exit (the processor sets the vector in the virtual IRR, waking a halted guest); trapped 1 exit (VMX-preemption timer; the vector is posted like an IPI)",
        "    LVT timer write (vector, mask, mode) or SVR write: virtualized 1 exit",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn json_gives_each_partition_its_timer_setting_and_paths() {
    let v: serde_json::Value = serde_json::from_str(&explained().json).unwrap();
    let alpha = &v["timer_paths"][0];
    assert_eq!(alpha["timer"], "preferred");
    assert_eq!(v["partitions"][0]["timer"], "preferred");
    let paths = alpha["paths"].as_array().unwrap();
    assert_eq!(paths[0]["virtualized"], "no exit");
    assert_eq!(
        paths[1]["virtualized"].as_str().unwrap().split(' ').next(),
        Some("no")
    );
    assert_eq!(
        paths[1]["trapped"].as_str().unwrap().split(' ').next(),
        Some("1")
    );
}
