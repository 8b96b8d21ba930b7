//! Reject tests: one per error class, each asserting the located message, what was found, what
//! is accepted and the hint.

mod common;

use common::{check, edit, errors, has, BOARD, MANIFEST};

#[test]
fn valid_fixture_passes() {
    let model = check(BOARD, MANIFEST).expect("the fixture is valid");
    assert_eq!(model.partitions.len(), 2);
}

#[test]
fn toml_syntax() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "memory = \"32 MiB\"", "memory = \"32 MiB"),
    );
    has(
        &out,
        &[
            "manifest.toml:7:10: invalid TOML: unclosed string (opened here)",
            "found: `\"32 MiB`: its line ends before a closing quote",
            "accepted: a string closed on its own line: \"...\"",
            "\n1 error(s)",
        ],
    );
}

#[test]
fn an_unclosed_array_is_one_error_at_its_bracket() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "[\"cpu0\", \"cpu1\"]", "[\"cpu0\", \"cpu1\""),
    );
    has(
        &out,
        &[
            "manifest.toml:6:8: invalid TOML: unclosed array (opened here)",
            "found: `[\"cpu0\", \"cpu1\"`: no `]` closes it",
            "accepted: an array closed by `]`",
            "hint: the parser read everything after it as part of the array",
            "\n1 error(s)",
        ],
    );
}

#[test]
fn other_syntax_errors_say_what_the_parser_expected() {
    let out = errors(BOARD, &edit(MANIFEST, "to = \"beta\"", "to = = \"beta\""));
    has(
        &out,
        &[
            "manifest.toml:11:6: invalid TOML: extra `=`",
            "found: `=`",
            "accepted: nothing here",
            "\n1 error(s)",
        ],
    );
    let out = errors(
        BOARD,
        &edit(
            MANIFEST,
            "ipiv = \"required\"",
            "ipiv = \"required\"\nipiv = \"off\"",
        ),
    );
    has(
        &out,
        &[
            "manifest.toml:3:1: invalid TOML: duplicate key",
            "found: `ipiv`",
            "accepted: each key once in a table",
        ],
    );
}

#[test]
fn wrong_types_are_type_errors_each_reported() {
    let m = edit(MANIFEST, "cpus = [\"cpu0\", \"cpu1\"]", "cpus = 2");
    let m = edit(&m, "memory = \"32 MiB\"", "memory = true");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:6:8: type error: `cpus` must be an array of strings, not an integer",
            "found: cpus = 2",
            "accepted: board CPU names, e.g. cpus = [\"cpu0\", \"cpu1\"]",
            "manifest.toml:7:10: type error: `memory` must be a byte quantity, not a boolean",
            "found: memory = true",
            "accepted: an integer (e.g. 0x200000) or a string like \"64 MiB\"",
            "\n2 error(s)",
        ],
    );
    assert!(!out.contains("invalid TOML"), "{out}");
    let m = edit(MANIFEST, "[\"cpu0\", \"cpu1\"]", "[\"cpu0\", 1]");
    has(
        &errors(BOARD, &m),
        &[
            "manifest.toml:6:17: type error: `cpus[1]` must be a string, not an integer",
            "found: cpus[1] = 1",
            "accepted: board CPU names, e.g. cpus = [\"cpu0\", \"cpu1\"]",
        ],
    );
    let m = edit(MANIFEST, "to = \"beta\"", "to = 3\nvectors = \"all\"");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:11:6: type error: `to` must be a string, not an integer",
            "accepted: the name of another partition, e.g. to = \"beta\"",
            "manifest.toml:12:11: type error: `vectors` must be an array of integers, not a string",
            "\n2 error(s)",
        ],
    );
}

#[test]
fn errors_in_one_section_are_all_reported_missing_fields_too() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MB\"\nbogus = 1",
    );
    let m = edit(
        &m,
        "image = \"guest.elf\"\n\n[[partition.route]]",
        "\n[[partition.route]]",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:4:1: missing field `image` in [[partition]]",
            "found: [[partition]] without `image`",
            "accepted: `image = ...`: a path in quotes, relative to this manifest",
            "manifest.toml:7:10: invalid value for `memory`",
            "found: memory = \"32 MB\"",
            "manifest.toml:8:1: unknown field `bogus`",
            "\n3 error(s)",
        ],
    );
}

#[test]
fn values_out_of_range_name_the_field_and_the_range() {
    let m = edit(MANIFEST, "image = \"guest.elf\"\n\n", "image = \"guest.elf\"\nconsole_weight = -2\napic_ids = { first = 0, last = 5000000000 }\n\n");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:9:18: invalid value for `console_weight`",
            "found: console_weight = -2",
            "accepted: an integer from 1 to 100",
            "manifest.toml:10:32: invalid value for `apic_ids.last`",
            "accepted: a virtual APIC ID from 0 to 65535",
        ],
    );
}

#[test]
fn a_section_of_the_wrong_shape_says_so() {
    let m = "board = \"testboard\"\nipiv = \"required\"\n\n[partition]\nname = \"alpha\"\ncpus = [\"cpu0\"]\nmemory = \"32 MiB\"\nimage = \"guest.elf\"\n";
    let out = errors(BOARD, m);
    has(
        &out,
        &[
            "manifest.toml:4:1: type error: `partition` must be an array of tables, not a table",
            "found: `partition` as a table (made by a [partition] header, or by a [[partition.<name>]] header with no [[partition]] before it)",
            "accepted: [[partition]] tables (two brackets)",
            "\n1 error(s)",
        ],
    );
}

#[test]
fn unknown_field_with_suggestion() {
    let out = errors(BOARD, &edit(MANIFEST, "memory = ", "memroy = "));
    has(
        &out,
        &[
            "manifest.toml:7:1: unknown field `memroy`",
            "accepted: `name`, `cpus`",
            "hint: did you mean `memory`?",
        ],
    );
}

#[test]
fn missing_field() {
    let out = errors(
        BOARD,
        &edit(
            MANIFEST,
            "image = \"guest.elf\"\n\n[[partition.route]]",
            "\n[[partition.route]]",
        ),
    );
    has(
        &out,
        &[
            "manifest.toml:4:1: missing field `image`",
            "hint: add `image`",
        ],
    );
}

#[test]
fn duplicate_partition_name() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "name = \"beta\"", "name = \"alpha\""),
    );
    has(
        &out,
        &["manifest.toml:15:8: partition name `alpha` is used twice"],
    );
}

#[test]
fn invalid_partition_name() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "name = \"beta\"", "name = \"Beta 2\""),
    );
    has(
        &out,
        &[
            "manifest.toml:15:8: invalid partition name",
            "found: \"Beta 2\"",
            "accepted: 1 to 32 characters",
        ],
    );
}

#[test]
fn unknown_board_cpu() {
    let out = errors(BOARD, &edit(MANIFEST, "\"cpu3\"", "\"cpu9\""));
    has(
        &out,
        &[
            "manifest.toml:16:17: unknown board CPU `cpu9` in partition `beta`",
            "accepted: `cpu0`, `cpu1`, `cpu2`, `cpu3`",
            "hint: did you mean `cpu0`?",
        ],
    );
}

#[test]
fn cpu_owned_twice() {
    let out = errors(BOARD, &edit(MANIFEST, "\"cpu3\"", "\"cpu1\""));
    has(
        &out,
        &["manifest.toml:16:17: CPU `cpu1` is owned twice: by `alpha` and by `beta`"],
    );
}

#[test]
fn cpu_listed_twice_by_one_partition() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "\"cpu0\", \"cpu1\"", "\"cpu0\", \"cpu0\""),
    );
    has(
        &out,
        &[
            "manifest.toml:6:17: CPU `cpu0` is listed twice in partition `alpha`'s cpus",
            "found: \"cpu0\"",
            "hint: one vCPU per board CPU: remove the second entry",
            "\n1 error(s)",
        ],
    );
    assert!(!out.contains("by `alpha` and by `alpha`"), "{out}");
}

#[test]
fn partition_without_cpu() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "cpus = [\"cpu2\", \"cpu3\"]", "cpus = []"),
    );
    has(
        &out,
        &[
            "manifest.toml:16:8: partition `beta` has no CPU",
            "accepted: board CPUs no partition owns: `cpu2`, `cpu3`",
        ],
    );
}

#[test]
fn boot_cpu_must_be_own_and_some_must_boot() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"\nimage = \"guest.elf\"\n",
        "boot_cpus = [\"cpu3\"]\nmemory = \"32 MiB\"\nimage = \"guest.elf\"\n",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &["manifest.toml:7:14: boot CPU `cpu3` is not one of partition `alpha`'s CPUs"],
    );
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"\nimage = \"guest.elf\"\n",
        "boot_cpus = []\nmemory = \"32 MiB\"\nimage = \"guest.elf\"\n",
    );
    has(
        &errors(BOARD, &m),
        &["manifest.toml:7:13: no CPU of partition `alpha` starts at boot"],
    );
}

#[test]
fn apic_ranges_overlap() {
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu0\", \"cpu1\"]",
        "cpus = [\"cpu0\", \"cpu1\"]\napic_ids = { first = 0, last = 1 }",
    );
    let m = edit(
        &m,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\napic_ids = { first = 1, last = 2 }",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:18:12: APIC IDs 1..=2 of `beta` overlap `alpha`'s 0..=1",
            "hint: a guest that routes to",
        ],
    );
}

#[test]
fn apic_ranges_may_overlap_without_a_route() {
    let m = edit(
        MANIFEST,
        "[[partition.route]]\nto = \"beta\"\nmode = \"exitless\"\n",
        "",
    );
    let m = edit(
        &m,
        "cpus = [\"cpu0\", \"cpu1\"]",
        "cpus = [\"cpu0\", \"cpu1\"]\napic_ids = { first = 0, last = 1 }",
    );
    let m = edit(
        &m,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\napic_ids = { first = 0, last = 1 }",
    );
    assert!(check(BOARD, &m).is_ok());
}

#[test]
fn apic_range_size_differs_from_cpu_count() {
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\napic_ids = { first = 4, last = 6 }",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:17:12: APIC-ID range of `beta` has 3 IDs but the partition has 2 CPU(s)",
            "accepted: last = first + 1",
        ],
    );
}

#[test]
fn apic_id_above_16_bit_index() {
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\napic_ids = { first = 65535, last = 65536 }",
    );
    let out = errors(BOARD, &m);
    has(&out, &["manifest.toml:17:12: virtual APIC ID 65536 of `beta` is above 65535, the highest a 16-bit last PID-pointer index allows"]);
}

#[test]
fn route_to_unknown_partition() {
    let out = errors(BOARD, &edit(MANIFEST, "to = \"beta\"", "to = \"betta\""));
    has(
        &out,
        &[
            "manifest.toml:11:6: route to unknown partition `betta`",
            "accepted: `beta`",
            "hint: did you mean `beta`?",
        ],
    );
}

#[test]
fn route_to_itself() {
    let out = errors(BOARD, &edit(MANIFEST, "to = \"beta\"", "to = \"alpha\""));
    has(
        &out,
        &[
            "manifest.toml:11:6: route from `alpha` to itself",
            "hint: IPIs inside a partition need no route",
        ],
    );
}

#[test]
fn trapped_route_vectors() {
    let base = edit(
        MANIFEST,
        "mode = \"exitless\"",
        "mode = \"trapped\"\nvectors = []",
    );
    has(
        &errors(BOARD, &base),
        &[
            "manifest.toml:13:11: trapped route to `beta` has an empty vector list",
            "accepted: at least one vector in 16..=255",
        ],
    );
    let low = edit(
        MANIFEST,
        "mode = \"exitless\"",
        "mode = \"trapped\"\nvectors = [32, 2, 300]",
    );
    let out = errors(BOARD, &low);
    has(
        &out,
        &[
            "manifest.toml:13:16: vector 2 cannot be sent as a fixed IPI",
            "manifest.toml:13:19: vector 300",
            "accepted: 16..=255",
        ],
    );
    let none = edit(MANIFEST, "mode = \"exitless\"", "mode = \"trapped\"");
    has(
        &errors(BOARD, &none),
        &["manifest.toml:12:8: trapped route to `beta` has no `vectors` list"],
    );
}

#[test]
fn exitless_route_cannot_filter_vectors() {
    let m = edit(
        MANIFEST,
        "mode = \"exitless\"",
        "mode = \"exitless\"\nvectors = [32]",
    );
    has(
        &errors(BOARD, &m),
        &["manifest.toml:13:11: an exitless route cannot restrict vectors"],
    );
}

#[test]
fn memory_overlaps_another_partition() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MiB\"\nhost_base = \"16 MiB\"",
    );
    let m = m.replacen(
        "memory = \"32 MiB\"\nimage = \"guest.elf\"\n",
        "memory = \"32 MiB\"\nhost_base = \"32 MiB\"\nimage = \"guest.elf\"\n",
        2,
    );
    let out = errors(BOARD, &m);
    has(&out, &["manifest.toml:19:13: memory of `beta` at 0x2000000..0x4000000 (32 MiB) overlaps partition `alpha` at 0x1000000..0x3000000 (32 MiB)"]);
}

#[test]
fn memory_overlaps_the_hypervisor() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MiB\"\nhost_base = \"2 MiB\"",
    );
    has(&errors(BOARD, &m), &["manifest.toml:8:13: memory of `alpha` at 0x200000..0x2200000 (32 MiB) overlaps the hypervisor at 0x200000..0x1000000 (14 MiB)"]);
}

#[test]
fn memory_outside_board_ram() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MiB\"\nhost_base = \"4 GiB\"",
    );
    has(&errors(BOARD, &m), &["manifest.toml:8:13: memory of `alpha` at 0x100000000..0x102000000 (32 MiB) is outside the board's RAM", "accepted: within one RAM range: 0x100000..0x10000000 (255 MiB)"]);
}

#[test]
fn misaligned_memory() {
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"33 MiB\"\nguest_base = 0x1000",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:7:10: `memory` of partition `alpha` is not a multiple of 2 MiB",
            "found: 33 MiB",
            "hint: try 34 MiB",
        ],
    );
    has(
        &out,
        &["manifest.toml:8:14: `guest_base` of partition `alpha`"],
    );
}

#[test]
fn total_memory_over_the_board() {
    let m = edit(MANIFEST, "memory = \"32 MiB\"", "memory = \"220 MiB\"");
    has(&errors(BOARD, &m), &["manifest.toml:17:10: partitions need 252 MiB of memory in total (up to `beta`), more than board `testboard` has", "accepted: at most 241 MiB"]);
}

#[test]
fn image_missing() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "image = \"guest.elf\"", "image = \"nope.elf\""),
    );
    has(
        &out,
        &[
            "manifest.toml:8:9: image of `alpha` cannot be read",
            "nope.elf",
            "hint: image paths are relative to the manifest file",
        ],
    );
}

#[test]
fn image_not_elf64() {
    let d = common::dir(
        BOARD,
        &edit(MANIFEST, "image = \"guest.elf\"", "image = \"board.toml\""),
    );
    let err = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap_err();
    has(
        &err.to_string(),
        &[
            "manifest.toml:8:9: image of `alpha` is not an ELF64 x86-64 executable: no ELF magic",
            "accepted: an x86-64 ELF64 executable",
        ],
    );
}

#[test]
fn image_with_a_segment_past_its_end() {
    let d = common::dir(
        BOARD,
        &edit(MANIFEST, "image = \"guest.elf\"", "image = \"cut.elf\""),
    );
    let mut elf = common::elf(0x10_0000, 0x2000, 0x10_0000);
    elf.truncate(elf.len() - 4);
    std::fs::write(d.join("cut.elf"), elf).unwrap();
    let err = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap_err()
    .to_string();
    common::all_explained(&err);
    has(
        &err,
        &[
            "manifest.toml:8:9: image of `alpha` is not an ELF64 x86-64 executable: PT_LOAD segment 0 points outside the file",
            "cut.elf",
            "accepted: an x86-64 ELF64 executable",
        ],
    );
}

#[test]
fn the_load_image_is_the_segment_contents_only() {
    let d = common::dir(BOARD, MANIFEST);
    let model = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap();
    let image = model.partitions[0].image.as_ref().unwrap();
    assert_eq!(
        image.bytes,
        [0xF4, 0xEB, 0xFD, 0, 0, 0, 0, 0],
        "no ELF header"
    );
    assert_eq!(image.segments[0].offset, 0);
    let generated = tessera_manifest::generate(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap();
    assert_eq!(
        generated.images,
        [("image-0.bin".to_string(), image.bytes.clone())],
        "both partitions include one file"
    );
    let source = common::squashed(&generated.source);
    assert_eq!(
        source
            .matches("include_bytes!(concat!(env!(\"OUT_DIR\"),\"/image-0.bin\"))")
            .count(),
        2,
        "{source}"
    );
}

#[test]
fn image_not_fitting_its_memory() {
    let d = common::dir(
        BOARD,
        &edit(MANIFEST, "image = \"guest.elf\"", "image = \"big.elf\""),
    );
    std::fs::write(
        d.join("big.elf"),
        common::elf(0x10_0000, 40 << 20, 0x10_0000),
    )
    .unwrap();
    let err = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap_err();
    has(&err.to_string(), &["manifest.toml:8:9: image of `alpha` does not fit its memory: segment at 0x100000..0x2900000 (40 MiB)", "accepted: segments inside guest-physical 0x0..0x2000000"]);
}

#[test]
fn image_overlapping_the_boot_area() {
    let d = common::dir(
        BOARD,
        &edit(MANIFEST, "image = \"guest.elf\"", "image = \"top.elf\""),
    );
    // Fits the 32 MiB memory, but runs into the top 6 pages (3 page tables, GDT/TSS, 2 vCPUs).
    std::fs::write(
        d.join("top.elf"),
        common::elf(0x10_0000, (31 << 20) - 0x5000, 0x10_0000),
    )
    .unwrap();
    let err = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    )
    .unwrap_err();
    has(
        &err.to_string(),
        &[
            "manifest.toml:8:9: image of `alpha` overlaps the boot area at 0x1ffa000..0x2000000 (24 KiB: guest page tables, GDT/TSS, one boot-info page per vCPU): segment at 0x100000..0x1ffb000",
            "found: ",
            "top.elf",
            "accepted: segments ending at or below 0x1ffa000",
            "1 error(s)",
        ],
    );
    std::fs::write(
        d.join("top.elf"),
        common::elf(0x10_0000, (31 << 20) - 0x6000, 0x10_0000),
    )
    .unwrap();
    let ok = tessera_manifest::check_files(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Load,
    );
    assert!(ok.is_ok(), "an image ending at the boot area fits: {ok:?}");
}

/// The fixture board with CPUs `cpu4..cpu{count}` added.
fn board_with_cpus(count: u32) -> String {
    let extra: String = (4..count)
        .map(|i| {
            format!("[[cpu]]\nname = \"cpu{i}\"\napic_id = {i}\npackage = 0\ncore = {i}\nthread = 0\n\n")
        })
        .collect();
    edit(BOARD, "[[ram]]", &format!("{extra}[[ram]]"))
}

#[test]
fn memory_too_small_for_the_boot_area() {
    // 2 MiB = 512 pages: 3 page tables + a GDT/TSS page + 509 boot-info pages do not fit.
    let board = edit(
        &board_with_cpus(511),
        "bytes = \"14 MiB\"",
        "bytes = \"32 MiB\"",
    );
    let cpus: Vec<String> = (0..509).map(|i| format!("\"cpu{i}\"")).collect();
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu0\", \"cpu1\"]\nmemory = \"32 MiB\"",
        &format!("cpus = [{}]\nmemory = \"2 MiB\"", cpus.join(", ")),
    );
    let m = edit(&m, "cpus = [\"cpu2\", \"cpu3\"]", "cpus = [\"cpu509\"]");
    let out = errors(&board, &m);
    has(
        &out,
        &[
            "manifest.toml:7:10: memory of partition `alpha` is too small for its boot area (2052 KiB)",
            "found: 2 MiB",
            "accepted: at least 2052 KiB for the boot area (guest page tables, a GDT/TSS page and one boot-info page per vCPU, at the top of the memory), plus room for the image",
            "hint: raise `memory`, or give the partition fewer CPUs",
        ],
    );
    let m = edit(&m, "memory = \"2 MiB\"", "memory = \"4 MiB\"");
    let fits = check(&board, &m);
    assert!(fits.is_ok(), "4 MiB holds the boot area: {fits:?}");
}

#[test]
fn mmio_inside_the_memory() {
    // The boot area's page tables map memory and MMIO with whole 2 MiB pages; memory is whole
    // 2 MiB blocks, so MMIO outside its bytes never shares a block with it.
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MiB\"\nguest_base = 0xFEC00000\ndevices = [\"hpet\"]",
    );
    has(
        &errors(BOARD, &m),
        &["manifest.toml:9:12: MMIO 0xfed00000..0xfed01000 (4 KiB) of device `hpet` falls inside `alpha`'s guest memory"],
    );
}

#[test]
fn device_and_console_assigned_twice_or_unknown() {
    let m = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        "image = \"guest.elf\"\nconsole = \"com2\"\ndevices = [\"hpet\"]\n\n",
    );
    let m = edit(
        &m,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\nconsole = \"com1\"\ndevices = [\"com2\", \"hpett\"]",
    );
    let out = errors(BOARD, &m);
    has(&out, &["manifest.toml:19:11: console `com1` of `beta` is assigned twice: it already belongs to the hypervisor (its console)"]);
    has(&out, &["manifest.toml:20:12: device `com2` of `beta` is assigned twice: it already belongs to partition `alpha`"]);
    has(
        &out,
        &[
            "manifest.toml:20:20: unknown device `hpett` for partition `beta`",
            "hint: did you mean `hpet`?",
        ],
    );
}

#[test]
fn device_named_twice_by_one_partition() {
    let m = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        "image = \"guest.elf\"\nconsole = \"com2\"\ndevices = [\"hpet\", \"com2\", \"hpet\"]\n\n",
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:10:20: device `com2` is already partition `alpha`'s console",
            "found: console = \"com2\" and `com2` in devices",
            "accepted: each device once: as the console or in devices",
            "hint: a console device is passed through like the others; remove it from devices",
            "manifest.toml:10:28: device `hpet` is listed twice in partition `alpha`'s devices",
            "2 error(s)",
        ],
    );
    assert!(
        !out.contains("by `alpha` and by `alpha`") && !out.contains("belongs to partition `alpha`")
    );
}

#[test]
fn unknown_console() {
    let m = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        "image = \"guest.elf\"\nconsole = \"hypercal\"\n\n",
    );
    has(
        &errors(BOARD, &m),
        &[
            "manifest.toml:9:11: unknown console `hypercal`",
            "accepted: \"hypercall\" or a board device",
            "hint: did you mean `hypercall`?",
        ],
    );
}

#[test]
fn console_weight_out_of_range_or_without_the_hypercall_console() {
    let m = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        "image = \"guest.elf\"\nconsole_weight = 0\n\n",
    );
    has(
        &errors(BOARD, &m),
        &[
            "manifest.toml:9:18: console weight out of range",
            "found: 0",
            "accepted: an integer from 1 to 100 (default 1)",
        ],
    );
    let m = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        "image = \"guest.elf\"\nconsole = \"com2\"\nconsole_weight = 3\n\n",
    );
    has(
        &errors(BOARD, &m),
        &["manifest.toml:10:18: console_weight is set but partition `alpha` owns its console device"],
    );
}

#[test]
fn manifest_for_another_board() {
    let out = errors(
        BOARD,
        &edit(MANIFEST, "board = \"testboard\"", "board = \"server\""),
    );
    has(&out, &["manifest.toml:1:9: this manifest is for board `server`, but the board file is `testboard`", "accepted: board = \"testboard\""]);
}

#[test]
fn ipiv_required_without_ipiv() {
    let out = errors(&edit(BOARD, "ipiv = true", "ipiv = false"), MANIFEST);
    has(&out, &["manifest.toml:2:8: ipiv = \"required\" but board `testboard` has no IPI virtualization", "hint: use ipiv = \"preferred\""]);
    let preferred = edit(MANIFEST, "\"required\"", "\"preferred\"");
    let model = check(&edit(BOARD, "ipiv = true", "ipiv = false"), &preferred).unwrap();
    assert!(!model.ipiv.enabled);
}

#[test]
fn board_errors_are_located_in_the_board_file() {
    let b = edit(BOARD, "apic_id = 3", "apic_id = 2");
    let b = edit(&b, "console = \"com1\"", "console = \"com3\"");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:32:11: APIC ID 2 is already CPU `cpu2`'s",
            "board.toml:7:11: unknown device `com3` for the hypervisor console",
        ],
    );
}

#[test]
fn several_errors_are_reported_together() {
    let m = edit(MANIFEST, "\"cpu3\"", "\"cpu1\"");
    let m = edit(&m, "to = \"beta\"", "to = \"gamma\"");
    let m = edit(&m, "memory = \"32 MiB\"", "memory = \"3 MiB\"");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "owned twice",
            "unknown partition `gamma`",
            "not a multiple of 2 MiB",
            "3 error(s) in the manifest",
        ],
    );
}

#[test]
fn both_files_syntax_errors_are_reported() {
    let out = errors("name = ", "board = ");
    has(&out, &["board.toml:1:", "manifest.toml:1:", "2 error(s)"]);
}

#[test]
fn extreme_values_are_errors_not_panics() {
    let b = edit(BOARD, "bytes = \"14 MiB\"", "bytes = 0xFFFFFFFFFFFFFFF0");
    has(
        &errors(&b, MANIFEST),
        &["board.toml:6:9: the hypervisor range is empty or wraps around"],
    );
    let b = edit(BOARD, "base = \"1 MiB\"", "base = 0xFFFFFFFFFFFFF000");
    has(
        &errors(&b, MANIFEST),
        &["board.toml:37:1: RAM range is empty or wraps around"],
    );
    let m = edit(
        MANIFEST,
        "memory = \"32 MiB\"",
        "memory = \"32 MiB\"\nguest_base = 0xFFFFFFFFFFE00000",
    );
    has(&errors(BOARD, &m), &["manifest.toml:8:14: memory of partition `alpha` would end past the 52-bit physical address space"]);
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = []\napic_ids = { first = 0, last = 0 }",
    );
    has(&errors(BOARD, &m), &["partition `beta` has no CPU"]);
}

#[test]
fn hypervisor_range_too_small_for_heap() {
    let b = edit(BOARD, "bytes = \"14 MiB\"", "bytes = \"64 KiB\"");
    has(&errors(&b, MANIFEST), &["board.toml:6:9: the hypervisor's 64 KiB cannot hold its heap (102416 bytes (100.0 KiB)) and the embedded images (8 bytes)", "hint: enlarge [hypervisor] bytes"]);
}

#[test]
fn elf_loader_rejects_wrong_machine_truncation_and_bad_entry() {
    use tessera_manifest::check::load_image;
    let memory = tessera_manifest::Memory {
        guest_base: 0,
        host_base: 0x100_0000,
        bytes: 32 << 20,
    };
    let good = common::elf(0x10_0000, 0x2000, 0x10_0000);
    let image = load_image(&good, Some(memory)).unwrap();
    assert_eq!((image.entry, image.segments.len()), (0x10_0000, 1));
    assert_eq!(image.segments[0].memory_bytes, 0x2000);
    let mut arm = good.clone();
    arm[18] = 183; // EM_AARCH64
    assert!(load_image(&arm, Some(memory))
        .unwrap_err()
        .0
        .contains("e_machine is 183"));
    assert!(load_image(&good[..100], Some(memory)).is_err());
    assert!(load_image(&good[..124], Some(memory))
        .unwrap_err()
        .0
        .contains("outside the file"));
    let far_entry = common::elf(0x10_0000, 0x2000, 0x90_0000);
    assert!(load_image(&far_entry, Some(memory))
        .unwrap_err()
        .0
        .contains("entry point 0x900000 outside"));
    let mut class32 = good;
    class32[4] = 1;
    assert!(load_image(&class32, None)
        .unwrap_err()
        .0
        .contains("not 64-bit"));
}

#[test]
fn schema_errors_in_several_sections_are_all_reported() {
    let m = edit(MANIFEST, "ipiv = \"required\"", "ipiv = \"yes\"");
    let m = edit(&m, "memory = \"32 MiB\"", "memroy = \"32 MiB\"");
    let m = edit(&m, "name = \"beta\"", "name = \"beta\"\ncolour = \"blue\"");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:2:8: unknown value \"yes\" for `ipiv`",
            "accepted: \"required\", \"preferred\", \"off\"",
            "manifest.toml:7:1: unknown field `memroy`",
            "manifest.toml:16:1: unknown field `colour`",
            "3 error(s)",
        ],
    );
    let b = edit(BOARD, "core = 1", "cores = 1");
    let b = edit(&b, "irqs = [3]", "irqs = [3]\nbus = \"isa\"");
    has(
        &errors(&b, MANIFEST),
        &[
            "board.toml:20:1: unknown field `cores`",
            "unknown field `bus`",
            "2 error(s)",
        ],
    );
}

#[test]
fn several_syntax_errors_are_reported() {
    let m = edit(MANIFEST, "memory = \"32 MiB\"", "memory = \"32 MiB");
    let m = edit(&m, "to = \"beta\"", "to = = \"beta\"");
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "manifest.toml:7:10: invalid TOML: unclosed string",
            "manifest.toml:11:6: invalid TOML: extra `=`",
            "\n2 error(s)",
        ],
    );
}

#[test]
fn tsc_frequency_zero() {
    let board = edit(BOARD, "ipiv = true\n", "ipiv = true\ntsc_hz = 0\n");
    let out = errors(&board, MANIFEST);
    has(
        &out,
        &[
            "board.toml:3:10: tsc_hz is 0",
            "found: tsc_hz = 0",
            "accepted: the TSC frequency in Hz",
            "hint: leave tsc_hz out",
        ],
    );
    let stated = edit(
        BOARD,
        "ipiv = true\n",
        "ipiv = true\ntsc_hz = 2_200_000_000\n",
    );
    assert_eq!(
        check(&stated, MANIFEST).unwrap().tsc_hz,
        Some(2_200_000_000)
    );
    assert_eq!(check(BOARD, MANIFEST).unwrap().tsc_hz, None);
}

#[test]
fn timer_setting_is_read_and_checked() {
    let with = |value: &str| {
        edit(
            MANIFEST,
            "memory = \"32 MiB\"",
            &format!("memory = \"32 MiB\"\ntimer = {value}"),
        )
    };
    let model = check(BOARD, &with("\"virtualized\"")).expect("valid");
    assert_eq!(
        model.partitions[0].timer,
        tessera_manifest::TimerMode::Virtualized
    );
    assert_eq!(
        model.partitions[1].timer,
        tessera_manifest::TimerMode::Preferred,
        "default"
    );
    let trapped = check(BOARD, &with("\"trapped\"")).expect("valid");
    assert_eq!(
        trapped.partitions[0].timer,
        tessera_manifest::TimerMode::Trapped
    );
    let out = errors(BOARD, &with("\"virtual\""));
    has(
        &out,
        &[
            "manifest.toml:8:",
            "virtual",
            "virtualized",
            "preferred",
            "trapped",
        ],
    );
}

#[test]
fn timer_setting_decides_the_path_on_each_cpu() {
    use tessera_manifest::TimerMode;
    assert_eq!(TimerMode::Virtualized.virtualized(true), Some(true));
    assert_eq!(
        TimerMode::Virtualized.virtualized(false),
        None,
        "boot refused"
    );
    assert_eq!(TimerMode::Preferred.virtualized(true), Some(true));
    assert_eq!(TimerMode::Preferred.virtualized(false), Some(false));
    assert_eq!(TimerMode::Trapped.virtualized(true), Some(false));
    assert_eq!(TimerMode::default(), TimerMode::Preferred);
}
