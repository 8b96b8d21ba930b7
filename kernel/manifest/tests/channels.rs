//! `[[channel]]`: what the planner derives (addresses, host memory, doorbell routes, EPT pages,
//! explain) and one reject test per error a manifest author can make.

mod common;

use common::{all_explained, check, dir, edit, errors, has, BOARD, MANIFEST};
use tessera_manifest::channel::{Access, Role};
use tessera_manifest::{Images, RouteMode};

const FEED: &str = r#"
[[channel]]
name = "feed"
writer = "alpha"
readers = ["beta"]
bytes = "64 KiB"
doorbell = "exitless"
doorbell_vector = 0x40
credit_vector = 0x41
"#;

fn with(manifest: &str, extra: &str) -> String {
    format!("{manifest}{extra}")
}

/// The fixture with alpha's explicit exitless route removed (channels then derive every route).
fn without_route() -> String {
    edit(
        MANIFEST,
        "[[partition.route]]\nto = \"beta\"\nmode = \"exitless\"\n",
        "",
    )
}

#[test]
fn planner_places_both_sides_above_memory_and_the_ring_in_free_ram() {
    let model = check(BOARD, &with(MANIFEST, FEED)).expect("valid");
    let c = &model.channels[0];
    // alpha at host 16 MiB, beta at 48 MiB (32 MiB each): the ring goes right after beta.
    assert_eq!(c.host_base, 80 << 20);
    assert_eq!(
        c.writer_guest_base,
        32 << 20,
        "the first 2 MiB block above alpha's memory"
    );
    assert_eq!(c.readers[0].guest_base, 32 << 20);
    assert_eq!(c.as_plan().host_bytes(), (64 << 10) + 4096);
    let beta_routes = &model.partitions[1].routes;
    assert_eq!(
        beta_routes.len(),
        1,
        "the credit route beta -> alpha is derived"
    );
    assert_eq!(
        (beta_routes[0].to, beta_routes[0].mode),
        (0, RouteMode::Exitless)
    );
    assert!(model
        .notes
        .iter()
        .any(|n| n.contains("channel `feed`: host_base = 0x5000000")));
}

#[test]
fn trapped_channel_derives_routes_with_exactly_its_vectors() {
    let m = with(
        &without_route(),
        &FEED.replace("\"exitless\"", "\"trapped\""),
    );
    let model = check(BOARD, &m).expect("valid");
    let to_beta = &model.partitions[0].routes[0];
    assert_eq!(to_beta.mode, RouteMode::Trapped);
    assert_eq!(to_beta.vectors.iter().collect::<Vec<u8>>(), [0x40]);
    let to_alpha = &model.partitions[1].routes[0];
    assert_eq!(to_alpha.vectors.iter().collect::<Vec<u8>>(), [0x41]);
}

#[test]
fn ept_maps_each_side_and_explain_states_permissions_and_cost() {
    let d = dir(BOARD, &with(MANIFEST, FEED));
    let explained = tessera_manifest::explain(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        Images::Skip,
    )
    .unwrap();
    for line in [
        "channel `feed`: `alpha` -> `beta`; ring 64 KiB + 1 acknowledgement page(s) at host 0x5000000",
        "`alpha` (writer): ring at guest 0x2000000..0x2010000 read-write; acknowledgement pages at guest 0x2010000..0x2011000 read-only",
        "`beta` (reader 0): ring at guest 0x2000000..0x2010000 read-only; its acknowledgement page at guest 0x2010000..0x2011000 read-write",
        "a doorbell costs: with IPIv no exit on either side; without IPIv 1 exit (the sender's ICR write), none for the receiver",
    ] {
        let line = line.replace("1 exit (the sender's ICR write), none for the receiver", "1 sender exit (the ICR write, posted by the hypervisor), none for the receiver");
        assert!(explained.text.contains(&line), "missing `{line}` in:\n{}", explained.text);
    }
    let v: serde_json::Value = serde_json::from_str(&explained.json).unwrap();
    assert_eq!(
        v["channels"][0]["sides"][1]["ranges"][0]["access"],
        "read-only"
    );
    assert_eq!(
        v["channels"][0]["doorbell_exits"]["with_ipiv"],
        "no exit on either side"
    );
    // The channel adds one 4 KiB page table per side (its 2 MiB block holds 4 KiB mappings).
    assert_eq!(v["partitions"][0]["ept_pages"], 4);
    let model = check(BOARD, &with(MANIFEST, FEED)).unwrap();
    let c = model.channels[0].as_plan();
    assert_eq!(
        c.mappings(Role::Writer)[0].unwrap().access,
        Access::ReadWrite
    );
    assert_eq!(
        c.mappings(Role::Reader(0))[0].unwrap().access,
        Access::ReadOnly
    );
}

#[test]
fn unknown_partition_and_reader_that_is_the_writer() {
    let m = with(
        MANIFEST,
        &FEED.replace("readers = [\"beta\"]", "readers = [\"alpha\", \"betta\"]"),
    );
    let out = errors(BOARD, &m);
    has(
        &out,
        &[
            "partition `alpha` is both the writer and a reader of channel `feed`",
            "reader of channel `feed` is unknown partition `betta`",
            "hint: did you mean `beta`?",
        ],
    );
    all_explained(&out);
}

#[test]
fn ring_size_must_be_whole_pages() {
    let out = errors(BOARD, &with(MANIFEST, &FEED.replace("\"64 KiB\"", "5000")));
    has(
        &out,
        &[
            "manifest.toml:24:9: `bytes` of channel `feed` is not a whole number of 4 KiB pages",
            "found: 5000 bytes",
            "accepted: a non-zero multiple of 4 KiB",
            "hint: try 8 KiB",
        ],
    );
}

#[test]
fn doorbell_vectors_below_32_are_refused() {
    let out = errors(
        BOARD,
        &with(
            MANIFEST,
            &FEED.replace("credit_vector = 0x41", "credit_vector = 14"),
        ),
    );
    has(
        &out,
        &[
            "`credit_vector` of channel `feed` cannot be a doorbell",
            "found: 14",
            "accepted: 32..=255",
        ],
    );
}

#[test]
fn vector_clashes_in_the_receiving_partition() {
    let second = FEED
        .replace("\"feed\"", "\"logs\"")
        .replace("credit_vector = 0x41", "credit_vector = 0x42");
    let out = errors(BOARD, &with(&with(MANIFEST, FEED), &second));
    has(&out, &["`doorbell_vector` 0x40 of channel `logs` arrives in `beta`, which already receives it as the doorbell of channel `feed`", "hint: a guest tells its interrupts apart by vector"]);
    all_explained(&out);
    let trapped = edit(
        MANIFEST,
        "mode = \"exitless\"",
        "mode = \"trapped\"\nvectors = [0x40]",
    );
    let out = errors(
        BOARD,
        &with(&trapped, &FEED.replace("\"exitless\"", "\"trapped\"")),
    );
    has(
        &out,
        &["arrives in `beta`, which already receives it as the trapped route from `alpha`"],
    );
}

#[test]
fn route_of_the_other_mode_is_refused() {
    let out = errors(
        BOARD,
        &with(MANIFEST, &FEED.replace("\"exitless\"", "\"trapped\"")),
    );
    has(&out, &["channel `feed` needs a trapped route from `alpha` to `beta`, but that route is exitless", "hint: an exitless route already lets every vector through"]);
    all_explained(&out);
}

#[test]
fn guest_addresses_overlapping_memory_mmio_or_another_channel() {
    let inside = FEED.replace("bytes = ", "writer_guest_base = \"16 MiB\"\nbytes = ");
    has(&errors(BOARD, &with(MANIFEST, &inside)), &["channel `feed` in `alpha` at 0x1000000..0x1011000 (68 KiB) overlaps: the memory of `alpha`"]);
    let mmio = edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n[[partition.route]]",
        "image = \"guest.elf\"\ndevices = [\"hpet\"]\n\n[[partition.route]]",
    );
    let block = FEED.replace("bytes = ", "writer_guest_base = 0xFED10000\nbytes = ");
    let out = errors(BOARD, &with(&mmio, &block));
    has(&out, &["channel `feed` in `alpha` at 0xfed10000..0xfed21000 (68 KiB) shares a 2 MiB block with 0xfec00000..0xfee00000 (2 MiB)", "the MMIO of device `hpet`"]);
    all_explained(&out);
    let second = FEED
        .replace("\"feed\"", "\"logs\"")
        .replace("0x40", "0x50")
        .replace("0x41", "0x51")
        .replace("bytes = ", "writer_guest_base = \"32 MiB\"\nbytes = ");
    has(
        &errors(BOARD, &with(&with(MANIFEST, FEED), &second)),
        &["channel `logs` in `alpha` at 0x2000000..0x2011000 (68 KiB) overlaps: channel `feed`"],
    );
    let unaligned = FEED.replace("bytes = ", "reader_guest_base = 0x4000100\nbytes = ");
    has(
        &errors(BOARD, &with(MANIFEST, &unaligned)),
        &[
            "`reader_guest_base` of channel `feed` is not 4 KiB-aligned",
            "hint: try 0x4001000",
        ],
    );
}

#[test]
fn host_memory_must_be_free_board_ram() {
    let on_beta = FEED.replace("bytes = ", "host_base = \"60 MiB\"\nbytes = ");
    let out = errors(BOARD, &with(MANIFEST, &on_beta));
    has(&out, &["channel `feed` at host 0x3c00000..0x3c11000 (68 KiB) overlaps the memory of partition `beta` at 0x3000000..0x5000000 (32 MiB)"]);
    all_explained(&out);
    let outside = FEED.replace("bytes = ", "host_base = \"1 GiB\"\nbytes = ");
    has(
        &errors(BOARD, &with(MANIFEST, &outside)),
        &[
            "is outside the board's RAM",
            "accepted: within one RAM range: 0x100000..0x10000000 (255 MiB)",
        ],
    );
    let unaligned = FEED.replace("bytes = ", "host_base = 0x5000800\nbytes = ");
    has(
        &errors(BOARD, &with(MANIFEST, &unaligned)),
        &["`host_base` of channel `feed` is not 4 KiB-aligned"],
    );
}

#[test]
fn unconfined_dma_would_break_the_read_only_promise() {
    let board = format!("{BOARD}\n[[device]]\nname = \"nic0\"\nmmio = [{{ base = 0xF0000000, bytes = \"4 KiB\" }}]\ndma = true\n");
    let m = MANIFEST.replacen(
        "image = \"guest.elf\"\n",
        "image = \"guest.elf\"\ndevices = [{ name = \"nic0\", dma = \"unconfined\" }]\n",
        2,
    );
    let m = m.replacen(
        "devices = [{ name = \"nic0\", dma = \"unconfined\" }]\n",
        "",
        1,
    );
    let out = errors(&board, &with(&m, FEED));
    has(&out, &["channel `feed`: reader `beta` has device `nic0` with dma = \"unconfined\", which can write the channel's memory whatever the EPT says", "hint: the ring would not be read-only to this reader"]);
    all_explained(&out);
}

#[test]
fn duplicate_names_and_too_many_readers() {
    let out = errors(
        BOARD,
        &with(
            &with(MANIFEST, FEED),
            &FEED.replace("0x40", "0x50").replace("0x41", "0x51"),
        ),
    );
    has(&out, &["second channel named `feed`"]);
    let out = errors(
        BOARD,
        &with(
            MANIFEST,
            &FEED.replace("readers = [\"beta\"]", "readers = []"),
        ),
    );
    has(
        &out,
        &[
            "channel `feed` has 0 readers",
            "accepted: 1 to 4 reader partitions",
        ],
    );
}
