//! VMCS field encodings, one enum per width and type (SDM Vol. 3D, Appendix B "Field Encoding in VMCS").
//!
//! An encoding is a 32-bit value (SDM Vol. 3C 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields"):
//! bit 0 access type (1 = high half of a 64-bit field), bits 9:1 index, bits 11:10 type
//! (0 control, 1 read-only data, 2 guest state, 3 host state), bits 14:13 width
//! (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width).

pub use natural::{NaturalControl, NaturalGuest, NaturalHost, NaturalReadOnly};
pub use width16::{Field16Control, Field16Guest, Field16Host};
pub use width32::{Field32Control, Field32Guest, Field32Host, Field32ReadOnly};
pub use width64::{Field64Control, Field64Guest, Field64Host, Field64ReadOnly};

/// Width of a VMCS field, from bits 14:13 of its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldWidth {
    Bits16,
    Bits64,
    Bits32,
    Natural,
}

/// Type of a VMCS field, from bits 11:10 of its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Control,
    ReadOnlyData,
    GuestState,
    HostState,
}

/// The width encoded in bits 14:13 of `encoding`.
pub const fn width_of(encoding: u32) -> FieldWidth {
    match (encoding >> 13) & 3 {
        0 => FieldWidth::Bits16,
        1 => FieldWidth::Bits64,
        2 => FieldWidth::Bits32,
        _ => FieldWidth::Natural,
    }
}

/// The type encoded in bits 11:10 of `encoding`.
pub const fn type_of(encoding: u32) -> FieldType {
    match (encoding >> 10) & 3 {
        0 => FieldType::Control,
        1 => FieldType::ReadOnlyData,
        2 => FieldType::GuestState,
        _ => FieldType::HostState,
    }
}

/// The encoding that accesses the high 32 bits of a 64-bit field (access type bit 0 = 1).
pub const fn high_half(encoding_64: u32) -> u32 {
    encoding_64 | 1
}

/// Defines a field enum with its encodings, an `ALL` list (for tests and dumps) and `encoding()`.
macro_rules! vmcs_fields {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value,)*
        }

        impl $name {
            /// Every field of this group, in encoding order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The 32-bit encoding given to VMREAD/VMWRITE.
            pub const fn encoding(self) -> u32 {
                self as u32
            }
        }
    };
}

mod natural;
mod width16;
mod width32;
mod width64;

#[cfg(test)]
mod tests;
