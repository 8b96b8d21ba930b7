//! EPT builder tests: build into host pages, then translate guest-physical addresses through them.

use std::boxed::Box;
use std::vec::Vec;

use super::ept::{EptBuilder, EptError, EptMapping, PageSlot};
use super::ept_entry::{EptPermissions, MemoryType};
use super::ept_walk::Translation;
use super::page::TablePage;

const KIB4: u64 = 4096;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// Where the test pretends the table pages live in host-physical memory.
const TABLES_PHYS: u64 = 0x0070_0000;

/// `count` pages full of garbage (the builder must zero what it uses).
fn pages(count: usize) -> Vec<Box<TablePage>> {
    (0..count)
        .map(|_| Box::new(TablePage([0xDEAD_BEEF_DEAD_BEEF; 512])))
        .collect()
}

fn slots(pages: &mut [Box<TablePage>]) -> Vec<PageSlot<&mut TablePage>> {
    let phys = |i: usize| TABLES_PHYS + i as u64 * KIB4;
    pages
        .iter_mut()
        .enumerate()
        .map(|(i, page)| PageSlot {
            phys: phys(i),
            page: &mut **page,
        })
        .collect()
}

fn ram(guest_base: u64, host_base: u64, bytes: u64) -> EptMapping {
    EptMapping {
        guest_base,
        host_base,
        bytes,
        permissions: EptPermissions::RAM,
        memory_type: MemoryType::WriteBack,
    }
}

fn mmio(base: u64, bytes: u64) -> EptMapping {
    EptMapping {
        guest_base: base,
        host_base: base,
        bytes,
        permissions: EptPermissions::MMIO,
        memory_type: MemoryType::Uncacheable,
    }
}

/// Builds `mappings` into 64 pages; returns the pages used and the translations of `probes`.
fn build(mappings: &[EptMapping], probes: &[u64]) -> (usize, Vec<Option<Translation>>) {
    let mut storage = pages(64);
    let mut slot_list = slots(&mut storage);
    let mut builder = EptBuilder::new(&mut slot_list).unwrap();
    for mapping in mappings {
        builder.map(mapping).unwrap();
    }
    (
        builder.pages_used(),
        probes
            .iter()
            .map(|&guest| builder.translate(guest))
            .collect(),
    )
}

#[test]
fn aligned_memory_uses_2mib_pages_and_three_tables() {
    let (used, t) = build(&[ram(0, 0x4000_0000, 64 * MIB)], &[0x0123_4567, 64 * MIB]);
    assert_eq!(used, 3);
    let inside = t[0].unwrap();
    assert_eq!(inside.host, 0x4123_4567);
    assert_eq!(inside.page_bytes, 2 * MIB);
    assert_eq!(inside.permissions, EptPermissions::RAM);
    assert_eq!(inside.memory_type, Some(MemoryType::WriteBack));
    assert_eq!(t[1], None);
}

#[test]
fn unaligned_range_gets_4kib_head_and_tail() {
    let probes = [MIB, 2 * MIB + 5, 5 * MIB - 1, 5 * MIB, MIB - 1];
    let (used, t) = build(&[ram(MIB, 0x4010_0000, 4 * MIB)], &probes);
    assert_eq!(used, 1 + 1 + 1 + 2);
    assert_eq!(t[0].unwrap().page_bytes, KIB4);
    assert_eq!(
        (t[1].unwrap().host, t[1].unwrap().page_bytes),
        (0x4020_0005, 2 * MIB)
    );
    assert_eq!(
        (t[2].unwrap().host, t[2].unwrap().page_bytes),
        (0x404F_FFFF, KIB4)
    );
    assert_eq!((t[3], t[4]), (None, None));
}

#[test]
fn mmio_page_is_uncacheable_and_not_executable() {
    let mappings = [ram(0, 0x4000_0000, 64 * MIB), mmio(0xFEC0_0000, KIB4)];
    let (used, t) = build(&mappings, &[0xFEC0_0010, 0xFEC0_1000]);
    assert_eq!(used, 5);
    let device = t[0].unwrap();
    let expected = (
        0xFEC0_0010,
        Some(MemoryType::Uncacheable),
        EptPermissions::MMIO,
    );
    assert_eq!(
        (device.host, device.memory_type, device.permissions),
        expected
    );
    assert_eq!(t[1], None);
}

#[test]
fn counts_match_the_planner_rule_examples() {
    let cases: [(&[EptMapping], usize); 5] = [
        (&[ram(GIB - 2 * MIB, GIB - 2 * MIB, 4 * MIB)], 4),
        (&[mmio(0xFEC0_0000, KIB4), mmio(0xFEC0_1000, KIB4)], 4),
        (&[ram(MIB, MIB, KIB4)], 4),
        (
            &[ram(0, 0, 2 * MIB), ram(512 * GIB, 0x8000_0000, 2 * MIB)],
            5,
        ),
        (&[], 1),
    ];
    for (mappings, expected) in cases {
        assert_eq!(build(mappings, &[]).0, expected, "{mappings:?}");
    }
}

fn build_error(page_count: usize, mappings: &[EptMapping]) -> EptError {
    let mut storage = pages(page_count);
    let mut slot_list = slots(&mut storage);
    let mut builder = EptBuilder::new(&mut slot_list).unwrap();
    mappings
        .iter()
        .try_for_each(|m| builder.map(m))
        .unwrap_err()
}

#[test]
fn too_few_pages_is_reported() {
    assert_eq!(
        build_error(2, &[ram(0, 0, 2 * MIB)]),
        EptError::OutOfPages { guest: 0, pages: 2 }
    );
}

#[test]
fn overlapping_ranges_are_refused() {
    let error = build_error(
        8,
        &[
            ram(0, 0x4000_0000, 4 * MIB),
            ram(2 * MIB, 0x5000_0000, KIB4),
        ],
    );
    assert_eq!(error, EptError::AlreadyMapped { guest: 2 * MIB });
    let error = build_error(8, &[ram(MIB, 0, KIB4), ram(MIB, 0, KIB4)]);
    assert_eq!(error, EptError::AlreadyMapped { guest: MIB });
}

#[test]
fn misaligned_host_block_is_refused() {
    let error = build_error(8, &[ram(0, 0x4010_0000, 2 * MIB)]);
    assert_eq!(
        error,
        EptError::HostNot2MiBAligned {
            guest: 0,
            host: 0x4010_0000
        }
    );
}

#[test]
fn bad_ranges_and_slots_are_refused() {
    assert!(matches!(
        build_error(4, &[ram(0x800, 0, KIB4)]),
        EptError::Unaligned { .. }
    ));
    assert!(matches!(
        build_error(4, &[ram(1 << 48, 0, KIB4)]),
        EptError::AboveGuestLimit { .. }
    ));
    let mut storage = pages(2);
    let mut bad: Vec<PageSlot<&mut TablePage>> = storage
        .iter_mut()
        .map(|page| PageSlot {
            phys: 0x1000,
            page: &mut **page,
        })
        .collect();
    assert_eq!(
        EptBuilder::new(&mut bad).err(),
        Some(EptError::DuplicateSlot { phys: 0x1000 })
    );
    bad[1].phys = 0x2010;
    assert_eq!(
        EptBuilder::new(&mut bad).err(),
        Some(EptError::SlotNotAligned { phys: 0x2010 })
    );
    assert_eq!(
        EptBuilder::<&mut TablePage>::new(&mut []).err(),
        Some(EptError::NoPages)
    );
}
