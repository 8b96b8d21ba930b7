//! Reporting every schema error of a file, not just serde's first: each section (the top level,
//! `[hypervisor]`, each `[[partition]]`, `[[partition.route]]`, `[[cpu]]`, ...) is deserialized on
//! its own, and after each error the offending key is replaced by a valid sample value (or
//! removed) and the section deserialized again, so a second error in the same section is
//! reported too and a missing field is found even after a wrong one.

use crate::schema::{
    CpuSpec, DeviceSpec, HypervisorSpec, IpivSpec, PartitionSpec, RangeSpec, ReservedSpec,
    RouteSpec,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// One step of the way from a section to the value an error is at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// A schema error of one section: serde's error and where in the section it is.
#[derive(Debug)]
pub struct SchemaError {
    pub error: toml::de::Error,
    /// Keys and indices from the section to the value (empty: the section itself).
    pub path: Vec<PathPart>,
    /// The TOML type of the value the error is at (`integer`, `array`, ...), when known.
    pub value_type: Option<&'static str>,
    /// How the section is written (`[[partition]]`, `the top level`, ...).
    pub section: &'static str,
}

/// A file type whose sections can be checked one at a time.
pub trait Sections {
    /// Errors of each section (empty if every section deserializes).
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<SchemaError>;
}

/// The top level of a partitions file, with the partitions left for their own pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialized for its errors.
struct ManifestTop {
    board: Spanned<String>,
    ipiv: Spanned<IpivSpec>,
    partition: Vec<IgnoredAny>,
}

/// The top level of a board file, with the tables left for their own passes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialized for its errors.
struct BoardTop {
    name: Spanned<String>,
    cpu_model: Option<String>,
    ipiv: bool,
    tsc_hz: Option<u64>,
    hypervisor: BTreeMap<String, IgnoredAny>,
    cpu: Vec<IgnoredAny>,
    ram: Vec<IgnoredAny>,
    device: Option<Vec<IgnoredAny>>,
    reserved: Option<Vec<IgnoredAny>>,
}

/// A section with more errors than this is reported up to here.
const MAX_ERRORS_PER_SECTION: usize = 100;

/// Valid values for every required field of each section, put in place of a wrong one.
const MANIFEST_SAMPLE: &str = "board = \"x\"\nipiv = \"off\"\npartition = []\n";
const PARTITION_SAMPLE: &str = "name = \"x\"\ncpus = []\nmemory = 0\nimage = \"x\"\n";
const ROUTE_SAMPLE: &str = "to = \"x\"\nmode = \"trapped\"\n";
const BOARD_SAMPLE: &str = "name = \"x\"\nipiv = false\nhypervisor = {}\ncpu = []\nram = []\n";
const HYPERVISOR_SAMPLE: &str = "base = 0\nbytes = 0\nconsole = \"x\"\n";
const CPU_SAMPLE: &str = "name = \"x\"\napic_id = 0\npackage = 0\ncore = 0\nthread = 0\n";
const RANGE_SAMPLE: &str = "base = 0\nbytes = 0\n";
const RESERVED_SAMPLE: &str = "name = \"x\"\nbase = 0\nbytes = 0\n";
const DEVICE_SAMPLE: &str = "name = \"x\"\n";

impl Sections for crate::schema::ManifestFile {
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<SchemaError> {
        let top = Spanned::new(table.span(), DeValue::Table(table.get_ref().clone()));
        let mut errors = section::<ManifestTop>(&top, MANIFEST_SAMPLE, "the top level");
        for part in elements(&top, "partition") {
            let mut own = section::<PartitionSpec>(part, PARTITION_SAMPLE, "[[partition]]");
            own.retain(|e| !inside(&e.path, "route")); // reported by the route's own pass
            errors.extend(own);
            for route in elements(part, "route") {
                errors.extend(section::<RouteSpec>(
                    route,
                    ROUTE_SAMPLE,
                    "[[partition.route]]",
                ));
            }
        }
        errors
    }
}

impl Sections for crate::schema::BoardFile {
    fn section_errors(table: &Spanned<DeTable<'_>>) -> Vec<SchemaError> {
        let top = Spanned::new(table.span(), DeValue::Table(table.get_ref().clone()));
        let mut errors = section::<BoardTop>(&top, BOARD_SAMPLE, "the top level");
        if let Some(hypervisor) = member(&top, "hypervisor") {
            errors.extend(section::<HypervisorSpec>(
                hypervisor,
                HYPERVISOR_SAMPLE,
                "[hypervisor]",
            ));
        }
        let arrays: [(&str, SectionCheck); 4] = [
            ("cpu", |v| section::<CpuSpec>(v, CPU_SAMPLE, "[[cpu]]")),
            ("ram", |v| section::<RangeSpec>(v, RANGE_SAMPLE, "[[ram]]")),
            ("device", |v| {
                section::<DeviceSpec>(v, DEVICE_SAMPLE, "[[device]]")
            }),
            ("reserved", |v| {
                section::<ReservedSpec>(v, RESERVED_SAMPLE, "[[reserved]]")
            }),
        ];
        for (key, check) in arrays {
            for item in elements(&top, key) {
                errors.extend(check(item));
            }
        }
        errors
    }
}

/// Checks one section value.
type SectionCheck = fn(&Spanned<DeValue<'_>>) -> Vec<SchemaError>;

/// True if `path` leads into (not to) the value of `key`.
fn inside(path: &[PathPart], key: &str) -> bool {
    path.len() > 1 && path[0] == PathPart::Key(key.to_string())
}

/// The value of `key` in table `value`, if there is one.
fn member<'v, 'i>(value: &'v Spanned<DeValue<'i>>, key: &str) -> Option<&'v Spanned<DeValue<'i>>> {
    let DeValue::Table(table) = value.get_ref() else {
        return None;
    };
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

/// The elements of array `key` of table `value` (none if it is not an array).
fn elements<'v, 'i>(
    value: &'v Spanned<DeValue<'i>>,
    key: &str,
) -> impl Iterator<Item = &'v Spanned<DeValue<'i>>> {
    let items = match member(value, key).map(Spanned::get_ref) {
        Some(DeValue::Array(items)) => Some(items.iter()),
        _ => None,
    };
    items.into_iter().flatten()
}

/// Every error of section `value` as `T`, each key fixed with `sample`'s value after its error.
fn section<T: DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    sample: &'static str,
    name: &'static str,
) -> Vec<SchemaError> {
    let DeValue::Table(table) = value.get_ref() else {
        return Vec::new(); // The section's own type error is its parent's.
    };
    let sample = DeTable::parse(sample).unwrap_or_else(|e| panic!("sample of {name}: {e}"));
    let mut table = table.clone();
    let mut fixed: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    while errors.len() < MAX_ERRORS_PER_SECTION {
        let whole = Spanned::new(value.span(), DeValue::Table(table.clone()));
        let Err(error) = T::deserialize(ValueDeserializer::from(whole.clone())) else {
            break;
        };
        let span = error.span().unwrap_or(0..0);
        let (path, value_type) = locate(&whole, &span).unwrap_or_default();
        let key = missing_field(error.message()).or_else(|| match path.first() {
            Some(PathPart::Key(k)) => Some(k.clone()),
            _ => None,
        });
        errors.push(SchemaError {
            error,
            path,
            value_type,
            section: name,
        });
        let Some(key) = key.filter(|k| !fixed.contains(k)) else {
            break;
        };
        match sample.get_ref().iter().find(|(k, _)| k.get_ref() == &key) {
            Some((k, v)) => {
                table.insert(k.clone(), v.clone());
            }
            None => {
                let found = table.keys().find(|k| k.get_ref() == &key).cloned();
                if let Some(k) = found {
                    table.remove(&k);
                }
            }
        }
        fixed.push(key);
    }
    without_misspelt_fields(errors)
}

/// Drops "missing field `memory`" when the section has an unknown field `memroy`: one mistake,
/// one error (the unknown field's hint names the missing one).
fn without_misspelt_fields(errors: Vec<SchemaError>) -> Vec<SchemaError> {
    let unknown: Vec<String> = errors
        .iter()
        .filter_map(|e| e.error.message().strip_prefix("unknown field `"))
        .filter_map(|rest| rest.split('`').next().map(str::to_string))
        .collect();
    errors
        .into_iter()
        .filter(|e| {
            missing_field(e.error.message()).is_none_or(|name| {
                !unknown
                    .iter()
                    .any(|u| crate::diag::did_you_mean(u, [name.as_str()]).is_some())
            })
        })
        .collect()
}

/// `x` of serde's "missing field `x`".
pub fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// The path to the innermost key or value at `span`, and that value's TOML type.
fn locate(
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
) -> Option<(Vec<PathPart>, Option<&'static str>)> {
    let inside = |p: PathPart, (mut path, t): (Vec<PathPart>, Option<&'static str>)| {
        path.insert(0, p);
        (path, t)
    };
    match value.get_ref() {
        DeValue::Table(table) => {
            for (k, v) in table.iter() {
                let key = PathPart::Key(k.get_ref().to_string());
                if k.span() == *span {
                    return Some((vec![key], None));
                }
                if let Some(found) = locate(v, span) {
                    return Some(inside(key, found));
                }
            }
        }
        DeValue::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if let Some(found) = locate(v, span) {
                    return Some(inside(PathPart::Index(i), found));
                }
            }
        }
        _ => {}
    }
    let at = value.span();
    (at.start <= span.start && span.end <= at.end && !span.is_empty())
        .then(|| (Vec::new(), Some(value.get_ref().type_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ManifestFile;

    fn errors<T: Sections>(text: &str) -> Vec<(Vec<PathPart>, String)> {
        let table = DeTable::parse(text).unwrap();
        T::section_errors(&table)
            .into_iter()
            .map(|e| (e.path, e.error.message().to_string()))
            .collect()
    }

    #[test]
    fn samples_are_valid() {
        let value = |s: &'static str| {
            let t = DeTable::parse(s).unwrap();
            Spanned::new(t.span(), DeValue::Table(t.get_ref().clone()))
        };
        assert!(section::<ManifestTop>(&value(MANIFEST_SAMPLE), MANIFEST_SAMPLE, "t").is_empty());
        assert!(section::<BoardTop>(&value(BOARD_SAMPLE), BOARD_SAMPLE, "t").is_empty());
        for (sample, errors) in [
            (
                PARTITION_SAMPLE,
                section::<PartitionSpec> as fn(&_, _, _) -> _,
            ),
            (ROUTE_SAMPLE, section::<RouteSpec>),
            (HYPERVISOR_SAMPLE, section::<HypervisorSpec>),
            (CPU_SAMPLE, section::<CpuSpec>),
            (RANGE_SAMPLE, section::<RangeSpec>),
            (RESERVED_SAMPLE, section::<ReservedSpec>),
            (DEVICE_SAMPLE, section::<DeviceSpec>),
        ] {
            assert!(errors(&value(sample), sample, "t").is_empty(), "{sample}");
        }
    }

    #[test]
    fn every_error_of_one_section_is_found() {
        let text = "board = \"b\"\nipiv = \"off\"\n[[partition]]\nname = \"a\"\ncpus = 2\nmemory = true\nbogus = 1\n";
        let found = errors::<ManifestFile>(text);
        let key = |k: &str| vec![PathPart::Key(k.into())];
        let paths: Vec<_> = found.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(paths.len(), 4, "{found:?}");
        for k in ["bogus", "cpus", "memory"] {
            assert!(paths.contains(&key(k)), "{k}: {found:?}");
        }
        assert!(found.iter().any(|(_, m)| m == "missing field `image`"));
    }

    #[test]
    fn errors_inside_arrays_and_inline_tables_are_located() {
        let text = "board = \"b\"\nipiv = \"off\"\n[[partition]]\nname = \"a\"\ncpus = [\"c\", 3]\nmemory = 1\nimage = \"x\"\napic_ids = { first = \"x\", last = 1 }\n";
        let paths: Vec<_> = errors::<ManifestFile>(text)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            paths,
            [
                vec![
                    PathPart::Key("apic_ids".into()),
                    PathPart::Key("first".into())
                ],
                vec![PathPart::Key("cpus".into()), PathPart::Index(1)],
            ]
        );
    }
}
