//! Checks that every field's encoding carries the width and type of the group it is declared in.

use super::*;

fn check_group(encodings: &[u32], width: FieldWidth, field_type: FieldType) {
    let mut previous: Option<u32> = None;
    for &encoding in encodings {
        assert_eq!(width_of(encoding), width, "width of {encoding:#06x}");
        assert_eq!(type_of(encoding), field_type, "type of {encoding:#06x}");
        assert_eq!(
            encoding & 1,
            0,
            "{encoding:#06x} must be a full (not high-half) access"
        );
        if let Some(previous) = previous {
            assert!(encoding > previous, "{encoding:#06x} out of order");
        }
        previous = Some(encoding);
    }
}

macro_rules! encodings {
    ($ty:ty) => {
        <$ty>::ALL
            .iter()
            .map(|field| field.encoding())
            .collect::<std::vec::Vec<u32>>()
    };
}

#[test]
fn sixteen_bit_groups_have_width_and_type_bits() {
    check_group(
        &encodings!(Field16Control),
        FieldWidth::Bits16,
        FieldType::Control,
    );
    check_group(
        &encodings!(Field16Guest),
        FieldWidth::Bits16,
        FieldType::GuestState,
    );
    check_group(
        &encodings!(Field16Host),
        FieldWidth::Bits16,
        FieldType::HostState,
    );
}

#[test]
fn sixty_four_bit_groups_have_width_and_type_bits() {
    check_group(
        &encodings!(Field64Control),
        FieldWidth::Bits64,
        FieldType::Control,
    );
    check_group(
        &encodings!(Field64ReadOnly),
        FieldWidth::Bits64,
        FieldType::ReadOnlyData,
    );
    check_group(
        &encodings!(Field64Guest),
        FieldWidth::Bits64,
        FieldType::GuestState,
    );
    check_group(
        &encodings!(Field64Host),
        FieldWidth::Bits64,
        FieldType::HostState,
    );
}

#[test]
fn thirty_two_bit_groups_have_width_and_type_bits() {
    check_group(
        &encodings!(Field32Control),
        FieldWidth::Bits32,
        FieldType::Control,
    );
    check_group(
        &encodings!(Field32ReadOnly),
        FieldWidth::Bits32,
        FieldType::ReadOnlyData,
    );
    check_group(
        &encodings!(Field32Guest),
        FieldWidth::Bits32,
        FieldType::GuestState,
    );
    check_group(
        &encodings!(Field32Host),
        FieldWidth::Bits32,
        FieldType::HostState,
    );
}

#[test]
fn natural_width_groups_have_width_and_type_bits() {
    check_group(
        &encodings!(NaturalControl),
        FieldWidth::Natural,
        FieldType::Control,
    );
    check_group(
        &encodings!(NaturalReadOnly),
        FieldWidth::Natural,
        FieldType::ReadOnlyData,
    );
    check_group(
        &encodings!(NaturalGuest),
        FieldWidth::Natural,
        FieldType::GuestState,
    );
    check_group(
        &encodings!(NaturalHost),
        FieldWidth::Natural,
        FieldType::HostState,
    );
}

#[test]
fn ipiv_fields_match_the_published_encodings() {
    assert_eq!(Field64Control::TertiaryProcBasedControls.encoding(), 0x2034);
    assert_eq!(
        high_half(Field64Control::TertiaryProcBasedControls.encoding()),
        0x2035
    );
    assert_eq!(Field64Control::PidPointerTable.encoding(), 0x2042);
    assert_eq!(Field16Control::LastPidPointerIndex.encoding(), 0x0008);
    assert_eq!(
        Field16Control::PostedInterruptNotificationVector.encoding(),
        0x0002
    );
    assert_eq!(Field64Control::PostedInterruptDescriptor.encoding(), 0x2016);
}
