//! The first-entry field lists: only fields of the right type, each once, and values that pass the
//! SDM's VM-entry checks Tessera's guests depend on (Vol. 3C 26.3.1.1-26.3.1.2).

use std::vec::Vec;

use super::*;
use crate::fields::{
    self, Field16Control as C16, Field32Guest as G32, Field64Control as C64, FieldType,
    NaturalGuest as GN,
};
use crate::select::msr_sets::sapphire_rapids;
use crate::select::{select, IpivMode};

const MIB: u64 = 1 << 20;

fn layout() -> GuestBootLayout {
    GuestBootLayout::new(
        GuestRange {
            base: 0,
            bytes: 32 * MIB,
        },
        2,
        &[],
    )
    .unwrap()
}

fn entry() -> GuestEntry {
    GuestEntry {
        rip: 0x10_0000,
        rsp: 0,
        activity: Activity::Active,
        cr0_fixed: FixedBits {
            fixed0: 0x8000_0021,
            fixed1: 0xFFFF_FFFF,
        },
        cr4_fixed: FixedBits {
            fixed0: 0x2000,
            fixed1: 0x0077_2FFF,
        },
    }
}

fn assert_unique_and_typed(writes: &FieldWrites, field_type: FieldType) {
    let encodings: Vec<u32> = writes.as_slice().iter().map(|&(e, _)| e).collect();
    for (i, e) in encodings.iter().enumerate() {
        assert_eq!(fields::type_of(*e), field_type, "{e:#x}");
        assert!(!encodings[..i].contains(e), "{e:#x} written twice");
    }
}

#[test]
fn guest_state_has_each_guest_field_once() {
    let w = guest_state_writes(&layout(), &entry());
    assert_unique_and_typed(&w, FieldType::GuestState);
    for field in [
        GN::Cr0,
        GN::Cr3,
        GN::Cr4,
        GN::Rip,
        GN::Rflags,
        GN::GdtrBase,
        GN::TrBase,
        GN::CsBase,
    ] {
        assert!(w.get(field.encoding()).is_some(), "{field:?}");
    }
    assert_eq!(w.get(GN::Rip.encoding()), Some(0x10_0000));
    assert_eq!(w.get(GN::Cr3.encoding()), Some(layout().pml4_guest()));
}

#[test]
fn guest_state_passes_the_64_bit_entry_checks() {
    let w = guest_state_writes(&layout(), &entry());
    let get = |encoding: u32| w.get(encoding).unwrap();
    let (cr0, cr4) = (get(GN::Cr0.encoding()), get(GN::Cr4.encoding()));
    assert_eq!(cr0 & 0x8000_0021, 0x8000_0021, "PE, NE, PG (fixed0)");
    assert_ne!(cr4 & (1 << 5), 0, "PAE for IA-32e mode");
    assert_ne!(cr4 & (1 << 13), 0, "VMXE from fixed0");
    let cs_rights = get(G32::CsAccessRights.encoding());
    assert_eq!(
        (cs_rights >> 13 & 1, cs_rights >> 14 & 1),
        (1, 0),
        "CS.L = 1 needs CS.D = 0"
    );
    assert_eq!(
        get(G32::TrAccessRights.encoding()) & 0x1F,
        0x0B,
        "TR: busy 64-bit TSS, S = 0"
    );
    assert_ne!(
        get(G32::LdtrAccessRights.encoding()) & 1 << 16,
        0,
        "LDTR unusable"
    );
    assert_eq!(get(GN::Rflags.encoding()), 2, "bit 1 set, IF clear");
    assert_eq!(
        get(crate::fields::Field64Guest::VmcsLinkPointer.encoding()),
        u64::MAX
    );
}

#[test]
fn waiting_vcpus_enter_in_wait_for_sipi() {
    let waiting = GuestEntry {
        activity: Activity::WaitForSipi,
        ..entry()
    };
    assert_eq!(
        guest_state_writes(&layout(), &waiting).get(G32::ActivityState.encoding()),
        Some(3)
    );
}

fn values(mode: IpivMode) -> ControlValues {
    ControlValues {
        controls: select(&sapphire_rapids(), mode).unwrap(),
        posted_interrupt_vector: 0xF2,
        last_pid_index: Some(3),
    }
}

fn addresses() -> ControlAddresses {
    ControlAddresses {
        posted_interrupt_descriptor: 0x20_0040,
        virtual_apic_page: 0x20_1000,
        msr_bitmap: 0x20_2000,
        io_bitmaps: Some((0x20_3000, 0x20_4000)),
        eptp: 0x20_501E,
        pid_table: Some(0x20_6000),
    }
}

#[test]
fn control_fields_with_ipiv_set_tertiary_and_last_index() {
    let w = control_writes(&values(IpivMode::Required)).unwrap();
    assert_unique_and_typed(&w, FieldType::Control);
    assert_eq!(w.get(C64::TertiaryProcBasedControls.encoding()), Some(0x10));
    assert_eq!(w.get(C16::LastPidPointerIndex.encoding()), Some(3));
    assert_eq!(
        w.get(crate::fields::Field32Control::ExceptionBitmap.encoding()),
        Some(1 << 18),
        "machine checks exit to the hypervisor, every other exception is the guest's"
    );
    assert_eq!(
        w.get(C16::PostedInterruptNotificationVector.encoding()),
        Some(0xF2)
    );
    assert_eq!(
        w.as_slice()[0].0,
        crate::fields::Field32Control::PinBasedControls.encoding()
    );
    let a = address_writes(&addresses(), true).unwrap();
    assert_unique_and_typed(&a, FieldType::Control);
    assert_eq!(a.get(C64::PidPointerTable.encoding()), Some(0x20_6000));
}

#[test]
fn value_and_address_fields_do_not_overlap() {
    let w = control_writes(&values(IpivMode::Required)).unwrap();
    let a = address_writes(&addresses(), true).unwrap();
    assert!(a.as_slice().iter().all(|(e, _)| w.get(*e).is_none()));
    let address_encodings = [0x2000, 0x2002, 0x2004, 0x2012, 0x2016, 0x201A, 0x2042];
    assert!(w
        .as_slice()
        .iter()
        .all(|(e, _)| !address_encodings.contains(e)));
}

#[test]
fn control_fields_without_ipiv_leave_tertiary_and_table_out() {
    let w = control_writes(&ControlValues {
        last_pid_index: None,
        ..values(IpivMode::Off)
    })
    .unwrap();
    assert_eq!(w.get(C64::TertiaryProcBasedControls.encoding()), None);
    assert_eq!(w.get(C16::LastPidPointerIndex.encoding()), None);
    let a = address_writes(
        &ControlAddresses {
            pid_table: None,
            ..addresses()
        },
        false,
    )
    .unwrap();
    assert_eq!(a.get(C64::PidPointerTable.encoding()), None);
    assert_eq!(a.get(C64::Eptp.encoding()), Some(0x20_501E));
}

#[test]
fn without_io_bitmaps_their_address_fields_are_left_out() {
    let with = address_writes(&addresses(), false).unwrap();
    assert_eq!(with.get(C64::IoBitmapA.encoding()), Some(0x20_3000));
    assert_eq!(with.get(C64::IoBitmapB.encoding()), Some(0x20_4000));
    let without = address_writes(
        &ControlAddresses {
            io_bitmaps: None,
            ..addresses()
        },
        false,
    )
    .unwrap();
    assert_eq!(without.get(C64::IoBitmapA.encoding()), None);
    assert_eq!(without.get(C64::IoBitmapB.encoding()), None);
    assert_eq!(without.as_slice().len() + 2, with.as_slice().len());
    let misaligned = ControlAddresses {
        io_bitmaps: Some((0x20_3000, 0x20_4800)),
        ..addresses()
    };
    assert!(matches!(
        address_writes(&misaligned, false),
        Err(SetupError::Misaligned {
            what: "I/O bitmap B",
            ..
        })
    ));
}

#[test]
fn control_setup_errors_name_the_structure() {
    let no_index = ControlValues {
        last_pid_index: None,
        ..values(IpivMode::Required)
    };
    assert_eq!(control_writes(&no_index), Err(SetupError::MissingPidTable));
    let no_table = ControlAddresses {
        pid_table: None,
        ..addresses()
    };
    assert_eq!(
        address_writes(&no_table, true),
        Err(SetupError::MissingPidTable)
    );
    let bad_pid = ControlAddresses {
        posted_interrupt_descriptor: 0x20_0020,
        ..addresses()
    };
    let expected = SetupError::Misaligned {
        what: "posted-interrupt descriptor",
        address: 0x20_0020,
        align_bytes: 64,
    };
    assert_eq!(address_writes(&bad_pid, false), Err(expected));
    let bad_bitmap = ControlAddresses {
        msr_bitmap: 0x20_2800,
        ..addresses()
    };
    assert!(matches!(
        address_writes(&bad_bitmap, false),
        Err(SetupError::Misaligned {
            what: "MSR bitmap",
            ..
        })
    ));
}

/// The kernel writes each field as it comes: a refused setup must be refused before the first write.
#[test]
fn refused_setups_write_nothing() {
    let mut written = 0usize;
    let mut count = |_: u32, _: u64| written += 1;
    let no_index = ControlValues {
        last_pid_index: None,
        ..values(IpivMode::Required)
    };
    assert_eq!(
        control_fields(&no_index, &mut count),
        Err(SetupError::MissingPidTable)
    );
    let no_table = ControlAddresses {
        pid_table: None,
        ..addresses()
    };
    assert!(address_fields(&no_table, true, &mut count).is_err());
    let bad_pid = ControlAddresses {
        posted_interrupt_descriptor: 0x20_0020,
        ..addresses()
    };
    assert!(address_fields(&bad_pid, false, &mut count).is_err());
    assert_eq!(written, 0);
}

#[test]
fn sinks_see_the_lists_writes_in_order() {
    let mut seen = Vec::new();
    control_fields(&values(IpivMode::Required), &mut |e: u32, v: u64| {
        seen.push((e, v))
    })
    .unwrap();
    assert_eq!(
        seen.as_slice(),
        control_writes(&values(IpivMode::Required))
            .unwrap()
            .as_slice()
    );
    seen.clear();
    guest_state_fields(&layout(), &entry(), &mut |e: u32, v: u64| seen.push((e, v)));
    assert_eq!(
        seen.as_slice(),
        guest_state_writes(&layout(), &entry()).as_slice()
    );
}
