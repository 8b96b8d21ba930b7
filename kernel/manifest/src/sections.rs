//! Reporting every schema error of a file, not just serde's first: when a whole file does not
//! deserialize, each section (the top-level keys, each `[[partition]]`, `[[cpu]]`, ...) is
//! deserialized on its own, with spans into the original text.

use crate::schema::{
    CpuSpec, DeviceSpec, HypervisorSpec, IpivSpec, PartitionSpec, RangeSpec, ReservedSpec,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// A file type whose sections can be checked one at a time.
pub trait Sections {
    /// Errors of each section (empty if every section deserializes).
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<toml::de::Error>;
}

/// The top level of a partitions file, with the partitions left for their own pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialized for its errors.
struct ManifestTop {
    board: Spanned<String>,
    ipiv: Spanned<IpivSpec>,
    partition: IgnoredAny,
}

/// The top level of a board file, with the arrays left for their own pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialized for its errors.
struct BoardTop {
    name: Spanned<String>,
    cpu_model: Option<String>,
    ipiv: bool,
    hypervisor: HypervisorSpec,
    cpu: IgnoredAny,
    ram: IgnoredAny,
    device: Option<IgnoredAny>,
    reserved: Option<IgnoredAny>,
}

impl Sections for crate::schema::ManifestFile {
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<toml::de::Error> {
        let mut errors = value_errors::<ManifestTop>(table);
        errors.extend(element_errors::<PartitionSpec>(table, "partition"));
        errors
    }
}

impl Sections for crate::schema::BoardFile {
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<toml::de::Error> {
        let mut errors = value_errors::<BoardTop>(table);
        errors.extend(element_errors::<CpuSpec>(table, "cpu"));
        errors.extend(element_errors::<RangeSpec>(table, "ram"));
        errors.extend(element_errors::<DeviceSpec>(table, "device"));
        errors.extend(element_errors::<ReservedSpec>(table, "reserved"));
        errors
    }
}

/// The error of deserializing the whole table as `T`, if any.
fn value_errors<T: DeserializeOwned>(table: &Spanned<DeTable<'_>>) -> Vec<toml::de::Error> {
    let value = Spanned::new(table.span(), DeValue::Table(table.get_ref().clone()));
    T::deserialize(ValueDeserializer::from(value))
        .err()
        .into_iter()
        .collect()
}

/// The errors of deserializing each element of array `key` as `T`.
fn element_errors<T: DeserializeOwned>(
    table: &Spanned<DeTable<'_>>,
    key: &str,
) -> Vec<toml::de::Error> {
    let Some((_, value)) = table.get_ref().iter().find(|(k, _)| k.get_ref() == key) else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| T::deserialize(ValueDeserializer::from(item.clone())).err())
        .collect()
}
