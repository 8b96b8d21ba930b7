//! Reject tests for the board file: I/O ports, the physical address map, IRQ lines and the
//! hypervisor's console, each asserting the located message, what was found, what is accepted
//! and the hint.

mod common;

use common::{all_explained, check, edit, errors, has, BOARD, MANIFEST};

/// The fixture board with `extra` appended (it starts at line 54).
fn board_plus(extra: &str) -> String {
    format!("{BOARD}{extra}")
}

/// The fixture manifest with `lines` added to partition `alpha` (from line 9 on).
fn alpha_with(lines: &str) -> String {
    edit(
        MANIFEST,
        "image = \"guest.elf\"\n\n",
        &format!("image = \"guest.elf\"\n{lines}\n\n"),
    )
}

/// The fixture manifest with `lines` added to partition `beta`, after its `cpus`.
fn beta_with(manifest: &str, lines: &str) -> String {
    edit(
        manifest,
        "cpus = [\"cpu2\", \"cpu3\"]",
        &format!("cpus = [\"cpu2\", \"cpu3\"]\n{lines}"),
    )
}

#[test]
fn ports_past_the_port_space_or_empty() {
    let b = edit(BOARD, "base = 0x2F8, count = 8", "base = 0xFFFC, count = 8");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:48:10: I/O ports of device `com2` run past 0xFFFF (to 0x10003)",
            "found: base = 0xfffc, count = 8",
            "accepted: count >= 1 and base + count <= 0x10000 (here count 1..=4)",
            "1 error(s)",
        ],
    );
    all_explained(&out);
    let b = edit(BOARD, "base = 0x2F8, count = 8", "base = 0x2F8, count = 0");
    has(
        &errors(&b, MANIFEST),
        &[
            "board.toml:48:10: I/O port range of device `com2` is empty",
            "found: base = 0x2f8, count = 0",
        ],
    );
}

#[test]
fn ports_shared_by_two_devices_even_under_another_name() {
    let b = board_plus("[[device]]\nname = \"serial0\"\nports = [{ base = 0x3FC, count = 4 }]\n");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:56:10: I/O ports 0x3fc..0x400 of device `serial0` overlap device `com1`'s 0x3f8..0x400 (line 43)",
            "found: 0x3fc..0x400",
            "accepted: ports no other range of the board declares",
            "hint: a port is decoded by one device",
        ],
    );
    all_explained(&out);
    let b = edit(
        BOARD,
        "base = 0x2F8, count = 8 }]",
        "base = 0x2F8, count = 8 }, { base = 0x2FF, count = 1 }]",
    );
    has(
        &errors(&b, MANIFEST),
        &["board.toml:48:39: I/O ports 0x2ff..0x300 of device `com2` overlap another range of the same device, 0x2f8..0x300 (line 48)", "hint: merge the ranges"],
    );
}

#[test]
fn mmio_overlapping_another_device() {
    let b = board_plus(
        "[[device]]\nname = \"hpet-alias\"\nmmio = [{ base = 0xFED00000, bytes = \"4 KiB\" }]\n",
    );
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:56:9: MMIO range of device `hpet-alias` 0xfed00000..0xfed01000 (4 KiB) overlaps MMIO range of device `hpet` 0xfed00000..0xfed01000 (4 KiB) (line 53)",
            "found: 0xfed00000..0xfed01000 (4 KiB)",
            "accepted: a range no other RAM, hypervisor, reserved or MMIO range of the board uses",
            "hint: two devices cannot decode the same address",
        ],
    );
    all_explained(&out);
}

#[test]
fn mmio_overlapping_ram_or_the_hypervisor() {
    let b = board_plus(
        "[[device]]\nname = \"vga\"\nmmio = [{ base = 0x4000000, bytes = \"64 KiB\" }]\n",
    );
    has(
        &errors(&b, MANIFEST),
        &[
            "board.toml:56:9: MMIO range of device `vga` 0x4000000..0x4010000 (64 KiB) overlaps RAM range 0x100000..0x10000000 (255 MiB) (line 37)",
            "hint: [[ram]] lists only memory partitions may use",
        ],
    );
    let b = board_plus(
        "[[device]]\nname = \"vga\"\nmmio = [{ base = 0x400000, bytes = \"64 KiB\" }]\n",
    );
    has(
        &errors(&b, MANIFEST),
        &["board.toml:56:9: MMIO range of device `vga` 0x400000..0x410000 (64 KiB) overlaps the hypervisor range 0x200000..0x1000000 (14 MiB) (line 5)"],
    );
}

#[test]
fn mmio_overlapping_the_apic_pages() {
    for (base, what) in [
        (
            "0xFEE00000",
            "the local APIC page 0xfee00000..0xfee01000 (4 KiB)",
        ),
        (
            "0xFEC00000",
            "the I/O APIC page 0xfec00000..0xfec01000 (4 KiB)",
        ),
    ] {
        let b = board_plus(&format!(
            "[[device]]\nname = \"x\"\nmmio = [{{ base = {base}, bytes = \"8 KiB\" }}]\n"
        ));
        let out = errors(&b, MANIFEST);
        has(
            &out,
            &[
                "board.toml:56:9: MMIO range of device `x`",
                &format!("overlaps {what}\n"),
                "hint: the APIC pages belong to the processor and the chipset",
            ],
        );
        all_explained(&out);
    }
}

#[test]
fn reserved_ranges_are_nobody_else_s() {
    let reserved = "[[reserved]]\nname = \"acpi\"\nbase = 0xFED00000\nbytes = \"1 MiB\"\n";
    let out = errors(&board_plus(reserved), MANIFEST);
    has(
        &out,
        &[
            "board.toml:54:1: reserved range `acpi` 0xfed00000..0xfee00000 (1 MiB) overlaps MMIO range of device `hpet` 0xfed00000..0xfed01000 (4 KiB) (line 53)",
            "hint: each physical address has one use",
        ],
    );
    let reserved = "[[reserved]]\nname = \"acpi\"\nbase = \"255 MiB\"\nbytes = \"1 MiB\"\n";
    let out = errors(&board_plus(reserved), MANIFEST);
    has(
        &out,
        &[
            "board.toml:54:1: reserved range `acpi` 0xff00000..0x10000000 (1 MiB) overlaps RAM range 0x100000..0x10000000 (255 MiB) (line 37)",
            "hint: [[ram]] lists only memory partitions may use: split the RAM range",
        ],
    );
    all_explained(&out);
    let fits = "[[reserved]]\nname = \"acpi\"\nbase = \"256 MiB\"\nbytes = \"1 MiB\"\n";
    assert!(check(&board_plus(fits), MANIFEST).is_ok());
}

#[test]
fn ram_ranges_overlapping_each_other() {
    let b = edit(
        BOARD,
        "[[device]]\nname = \"com1\"",
        "[[ram]]\nbase = \"200 MiB\"\nbytes = \"100 MiB\"\n\n[[device]]\nname = \"com1\"",
    );
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:41:1: RAM range 0xc800000..0x12c00000 (100 MiB) overlaps RAM range 0x100000..0x10000000 (255 MiB) (line 37)",
            "hint: each physical address has one use",
        ],
    );
    all_explained(&out);
}

#[test]
fn hypervisor_outside_ram_or_across_two_ranges() {
    let b = edit(BOARD, "base = \"2 MiB\"", "base = \"300 MiB\"");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:5:8: the hypervisor range 0x12c00000..0x13a00000 (14 MiB) is not inside one RAM range",
            "found: 0x12c00000..0x13a00000 (14 MiB)",
            "accepted: a range within one [[ram]] range: 0x100000..0x10000000 (255 MiB)",
            "hint: the hypervisor image, its heap and the guest images are loaded there",
        ],
    );
    all_explained(&out);
    // Two adjacent RAM ranges are still two: the hypervisor may not straddle them.
    let b = edit(
        BOARD,
        "bytes = \"255 MiB\"",
        "bytes = \"9 MiB\"\n\n[[ram]]\nbase = \"10 MiB\"\nbytes = \"246 MiB\"",
    );
    has(
        &errors(&b, MANIFEST),
        &["board.toml:5:8: the hypervisor range 0x200000..0x1000000 (14 MiB) is not inside one RAM range"],
    );
}

#[test]
fn irq_shared_between_two_partitions() {
    let b = board_plus(
        "[[device]]\nname = \"com4\"\nports = [{ base = 0x2E8, count = 8 }]\nirqs = [3]\n",
    );
    let m = beta_with(&alpha_with("devices = [\"com2\"]"), "devices = [\"com4\"]");
    let out = errors(&b, &m);
    has(
        &out,
        &[
            "manifest.toml:18:12: IRQ 3 of device `com4`, given to partition `beta`, is shared with device `com2`, which belongs to partition `alpha`",
            "found: `com4` irqs = [3] (board line 54), `com2` irqs = [3] (board line 46)",
            "accepted: devices that share an IRQ line all go to one owner",
            "hint: give `com4` and `com2` to the same partition, or leave one of them unassigned",
            "1 error(s)",
        ],
    );
    all_explained(&out);
    // Inside one owner the line may be shared.
    let m = alpha_with("devices = [\"com2\", \"com4\"]");
    assert!(check(&b, &m).is_ok());
}

#[test]
fn irq_shared_with_the_hypervisor_console_under_any_name() {
    let b = board_plus(
        "[[device]]\nname = \"uart-b\"\nports = [{ base = 0x3E8, count = 8 }]\nirqs = [4]\n",
    );
    let out = errors(&b, &alpha_with("console = \"uart-b\""));
    has(
        &out,
        &[
            "manifest.toml:9:11: IRQ 4 of device `uart-b`, given to partition `alpha`, is shared with device `com1`, which belongs to the hypervisor (its console)",
            "hint: the hypervisor keeps its console's IRQ line",
        ],
    );
    all_explained(&out);
}

#[test]
fn hypervisor_console_is_required_and_a_uart() {
    let b = edit(BOARD, "console = \"com1\"\n", "");
    has(
        &errors(&b, MANIFEST),
        &["board.toml:4:1: missing field `console`"],
    );
    let b = edit(BOARD, "console = \"com1\"", "console = \"hpet\"");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:7:11: the hypervisor console `hpet` has no 16550 UART port range",
            "found: ports = []",
            "accepted: a device whose first port range has at least 8 ports",
        ],
    );
    all_explained(&out);
    let b = edit(BOARD, "console = \"com1\"", "console = \"com3\"");
    let out = errors(&b, MANIFEST);
    has(
        &out,
        &[
            "board.toml:7:11: unknown device `com3` for the hypervisor console",
            "found: console = \"com3\"",
            "accepted: a [[device]] of this board: `com1`, `com2`, `hpet`",
            "hint: did you mean `com1`?",
        ],
    );
    all_explained(&out);
}

#[test]
fn the_hypervisor_drives_the_port_of_its_console_device() {
    let b = edit(BOARD, "console = \"com1\"", "console = \"com2\"");
    let d = common::dir(&b, MANIFEST);
    let generated = tessera_manifest::generate(
        &d.join("board.toml"),
        &d.join("manifest.toml"),
        tessera_manifest::Images::Skip,
    )
    .unwrap();
    for wanted in [
        "pub const CONSOLE_PORT: u16 = 0x2f8;",
        "console: ::tessera_manifest::Device { name: \"com2\", ports: &[::tessera_manifest::PortRange { base: 0x2f8, count: 8 }]",
    ] {
        let found = common::squashed(&generated.source).contains(&common::squashed(wanted));
        assert!(found, "missing `{wanted}` in:\n{}", generated.source);
    }
    // com2 is now the hypervisor's: no partition gets it, and com1 is free to pass through.
    has(
        &errors(&b, &alpha_with("console = \"com2\"")),
        &["manifest.toml:9:11: console `com2` of `alpha` is assigned twice: it already belongs to the hypervisor (its console)"],
    );
    assert!(check(&b, &alpha_with("console = \"com1\"")).is_ok());
}

/// Each board error class says what was found, what is accepted and a hint.
#[test]
fn every_board_error_has_a_hint() {
    let extra = |text: &str| board_plus(text);
    let boards = [
        edit(BOARD, "base = 0x2F8, count = 8", "base = 0xFFFC, count = 8"),
        extra("[[device]]\nname = \"serial0\"\nports = [{ base = 0x3FC, count = 4 }]\n"),
        extra("[[device]]\nname = \"alias\"\nmmio = [{ base = 0xFED00000, bytes = \"4 KiB\" }]\n"),
        extra("[[device]]\nname = \"vga\"\nmmio = [{ base = 0x4000000, bytes = \"64 KiB\" }]\n"),
        extra("[[device]]\nname = \"x\"\nmmio = [{ base = 0xFEE00000, bytes = \"4 KiB\" }]\n"),
        extra("[[device]]\nname = \"odd\"\nmmio = [{ base = 0xFEB00000, bytes = 100 }]\n"),
        extra("[[reserved]]\nname = \"acpi\"\nbase = 0xFED00000\nbytes = \"1 MiB\"\n"),
        edit(BOARD, "base = \"2 MiB\"", "base = \"300 MiB\""),
        edit(BOARD, "console = \"com1\"", "console = \"uart\""),
        edit(BOARD, "console = \"com1\"", "console = \"hpet\""),
        edit(BOARD, "name = \"cpu1\"", "name = \"cpu0\""),
        edit(BOARD, "apic_id = 1", "apic_id = 0"),
        edit(BOARD, "name = \"com2\"", "name = \"com1\""),
        edit(BOARD, "ipiv = true\n", "ipiv = true\ntsc_hz = 0\n"),
    ];
    for b in boards {
        let out = errors(&b, MANIFEST);
        let count = out.matches("error: ").count();
        assert_eq!(
            out.matches("\n  hint: ").count(),
            count,
            "an error without a hint:\n{out}"
        );
    }
    has(
        &errors(&boards_mmio_partial(), MANIFEST),
        &[
            "board.toml:56:9: MMIO range of device `odd` is not whole 4 KiB pages",
            "found: base 0xfeb00000, bytes 0x64",
            "hint: `bytes` is the size of the range, not its end address",
        ],
    );
}

fn boards_mmio_partial() -> String {
    board_plus("[[device]]\nname = \"odd\"\nmmio = [{ base = 0xFEB00000, bytes = 100 }]\n")
}
