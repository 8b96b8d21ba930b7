//! One mistake gives one error: each single edit of the valid fixture below is reported exactly
//! once, located, with what was found and what is accepted (no follow-on errors elsewhere).

mod common;

use common::{all_explained, edit, errors, has, BOARD, MANIFEST};

/// The fixture manifest with explicit APIC-ID ranges, so that CPU mistakes could also upset them.
fn manifest() -> String {
    let m = edit(
        MANIFEST,
        "cpus = [\"cpu0\", \"cpu1\"]",
        "cpus = [\"cpu0\", \"cpu1\"]\napic_ids = { first = 0, last = 1 }\nshare_cores_with = []",
    );
    edit(
        &m,
        "cpus = [\"cpu2\", \"cpu3\"]",
        "cpus = [\"cpu2\", \"cpu3\"]\napic_ids = { first = 2, last = 3 }\nboot_cpus = [\"cpu2\", \"cpu3\"]\ndevices = [\"com2\"]",
    )
}

/// Asserts that `manifest` (with the fixture board, or `board`) has exactly one error, at `at`.
fn one(board: &str, manifest: &str, at: &str) {
    let out = errors(board, manifest);
    has(&out, &[at, "\n1 error(s) in the manifest"]);
    all_explained(&out);
}

#[test]
fn the_fixture_is_valid() {
    common::check(BOARD, &manifest()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn misspelt_names_give_one_error() {
    let m = manifest();
    for (from, to, at) in [
        (
            "\"cpu0\", \"cpu1\"]",
            "\"cpu0\", \"cpu9\"]",
            "manifest.toml:6:17: unknown board CPU `cpu9`",
        ),
        (
            "\"cpu0\", \"cpu1\"]",
            "\"cpu0\", \"cpu0\"]",
            "manifest.toml:6:17: CPU `cpu0` is listed twice",
        ),
        (
            "[\"cpu0\", \"cpu1\"]",
            "[\"cpu0\", \"cpu2\"]",
            "manifest.toml:18:9: CPU `cpu2` is owned twice: by `alpha` and by `beta`",
        ),
        (
            "boot_cpus = [\"cpu2\", \"cpu3\"]",
            "boot_cpus = [\"cpu2\", \"cpu4\"]",
            "manifest.toml:20:22: boot CPU `cpu4`",
        ),
        (
            "boot_cpus = [\"cpu2\", \"cpu3\"]",
            "boot_cpus = [\"cpu9\", \"cpu3\"]",
            "manifest.toml:20:14: boot CPU `cpu9`",
        ),
        ("to = \"beta\"", "to = \"betta\"", "manifest.toml:13:6: "),
        (
            "devices = [\"com2\"]",
            "devices = [\"com3\"]",
            "manifest.toml:21:12: ",
        ),
        (
            "share_cores_with = []",
            "share_cores_with = [\"gamma\"]",
            "manifest.toml:8:21: ",
        ),
        (
            "board = \"testboard\"",
            "board = \"testbord\"",
            "manifest.toml:1:9: ",
        ),
        (
            "name = \"beta\"",
            "name = \"Beta\"",
            "manifest.toml:17:8: invalid partition name",
        ),
    ] {
        one(BOARD, &edit(&m, from, to), at);
    }
}

#[test]
fn misspelt_or_mistyped_fields_give_one_error() {
    let m = manifest();
    for (from, to, at) in [
        (
            "memory = ",
            "memroy = ",
            "manifest.toml:9:1: unknown field `memroy`",
        ),
        (
            "cpus = [\"cpu0\", \"cpu1\"]",
            "cpus = 2",
            "manifest.toml:6:8: type error: `cpus` must be an array of strings, not an integer",
        ),
        (
            "memory = \"32 MiB\"",
            "memory = true",
            "manifest.toml:9:10: type error: `memory` must be a byte quantity, not a boolean",
        ),
        (
            "memory = \"32 MiB\"",
            "memory = \"32 MB\"",
            "manifest.toml:9:10: invalid value for `memory`",
        ),
        (
            "memory = \"32 MiB\"",
            "memory = \"31 MiB\"",
            "manifest.toml:9:10: ",
        ),
        (
            "mode = \"exitless\"",
            "mode = \"exitles\"",
            "manifest.toml:14:8: unknown value \"exitles\" for `mode`",
        ),
        (
            "ipiv = \"required\"",
            "ipiv = true",
            "manifest.toml:2:8: type error: `ipiv` must be a string, not a boolean",
        ),
        (
            "first = 0, last = 1",
            "first = 0, last = \"1\"",
            "manifest.toml:7:32: type error: `apic_ids.last` must be an integer, not a string",
        ),
    ] {
        one(BOARD, &edit(&m, from, to), at);
    }
}

#[test]
fn one_syntax_error_gives_one_error() {
    let m = manifest();
    for (from, to, at) in [
        (
            "cpus = [\"cpu0\", \"cpu1\"]",
            "cpus = [\"cpu0\", \"cpu1\"",
            "manifest.toml:6:8: invalid TOML: unclosed array (opened here)",
        ),
        (
            "name = \"alpha\"",
            "name = \"alpha",
            "manifest.toml:5:8: invalid TOML: unclosed string (opened here)",
        ),
        (
            "first = 0, last = 1 }",
            "first = 0, last = 1",
            "manifest.toml:7:12: invalid TOML: unclosed inline table (opened here)",
        ),
        (
            "to = \"beta\"",
            "to = = \"beta\"",
            "manifest.toml:13:6: invalid TOML: extra `=`",
        ),
        (
            "[[partition.route]]",
            "[[partition.route]",
            "manifest.toml:12:",
        ),
    ] {
        one(BOARD, &edit(&m, from, to), at);
    }
}

#[test]
fn one_board_mistake_gives_one_error() {
    let m = manifest();
    for (from, to, at) in [
        (
            "console = \"com1\"",
            "console = \"com9\"",
            "board.toml:7:11: unknown device `com9`",
        ),
        (
            "core = 1",
            "cores = 1",
            "board.toml:20:1: unknown field `cores`",
        ),
        (
            "apic_id = 1",
            "apic_id = \"1\"",
            "board.toml:18:11: type error: `apic_id` must be an integer, not a string",
        ),
        (
            "count = 8 }]\nirqs = [3]",
            "count = 70000 }]\nirqs = [3]",
            "board.toml:48:34: invalid value for `ports[0].count`",
        ),
        (
            "irqs = [4]",
            "irqs = 4",
            "board.toml:44:8: type error: `irqs` must be an array of integers, not an integer",
        ),
        (
            "ipiv = true",
            "ipiv = \"yes\"",
            "board.toml:2:8: type error: `ipiv` must be a boolean, not a string",
        ),
    ] {
        one(&edit(BOARD, from, to), &m, at);
    }
}

/// Every prefix of the fixture files (a file cut anywhere, mostly invalid TOML) is checked without
/// a panic, and every error it gives says what was found and what is accepted.
#[test]
fn every_truncation_is_explained() {
    let m = manifest();
    let cuts = |text: &str| -> Vec<usize> {
        (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect()
    };
    for cut in cuts(&m) {
        if let Err(e) = common::check(BOARD, &m[..cut]) {
            all_explained(&e.to_string());
        }
    }
    for cut in cuts(BOARD).into_iter().step_by(3) {
        if let Err(e) = common::check(&BOARD[..cut], &m) {
            all_explained(&e.to_string());
        }
    }
}
