//! Schema errors as diagnostics: a well-formed value of the wrong type, a value out of range, an
//! unknown or missing field, each naming the field, what was found and what is accepted.

use crate::diag::{did_you_mean, Diagnostic, SourceFile};
use crate::sections::{missing_field, PathPart, SchemaError};

/// What a field accepts: the short type for the message, and the accepted line.
struct Expected {
    short: &'static str,
    accepted: &'static str,
}

const fn expect(short: &'static str, accepted: &'static str) -> Expected {
    Expected { short, accepted }
}

/// Fields by their path without indices (`ports.base`), a section's own first
/// (`[hypervisor].console`).
const FIELDS: &[(&str, Expected)] = &[
    ("board", expect("a string", "the board's `name` in quotes, e.g. board = \"emulator\"")),
    ("name", expect("a string", "a name in quotes, e.g. name = \"alpha\"")),
    ("image", expect("a string", "a path in quotes, relative to this manifest")),
    ("cpu_model", expect("a string", "a description in quotes")),
    ("cpus", expect("an array of strings", "board CPU names, e.g. cpus = [\"cpu0\", \"cpu1\"]")),
    ("boot_cpus", expect("an array of strings", "board CPU names of this partition, e.g. boot_cpus = [\"cpu0\"]")),
    ("share_cores_with", expect("an array of strings", "partition names, e.g. share_cores_with = [\"beta\"]")),
    ("devices", expect("an array", "board device names or { name = \"<device>\", dma = \"unconfined\" } tables, e.g. devices = [\"com2\"]")),
    ("devices.name", expect("a string", "a board device name in quotes")),
    ("devices.dma", expect("a string", "dma = \"unconfined\"")),
    ("console", expect("a string or table", "\"hypercall\", a board device name, or { name = \"<device>\", dma = \"unconfined\" }")),
    ("console.dma", expect("a string", "dma = \"unconfined\"")),
    ("[hypervisor].console", expect("a string", "the name of a board [[device]], e.g. console = \"com1\"")),
    ("console_weight", expect("an integer", "an integer from 1 to 100")),
    ("vcpu0_waits_for_sipi", expect("a boolean", "true or false")),
    ("ipiv", expect("a string", "\"required\", \"preferred\" or \"off\"")),
    ("[the top level of the board].ipiv", expect("a boolean", "true or false")),
    ("dma", expect("a boolean", "true or false")),
    ("tsc_hz", expect("an integer", "the TSC frequency in Hz, e.g. tsc_hz = 2_000_000_000")),
    ("memory", expect("a byte quantity", crate::size::ACCEPTED)),
    ("host_base", expect("an address", crate::size::ACCEPTED)),
    ("guest_base", expect("an address", crate::size::ACCEPTED)),
    ("base", expect("an address", crate::size::ACCEPTED)),
    ("bytes", expect("a byte quantity", crate::size::ACCEPTED)),
    ("mmio", expect("an array of tables", "[{ base = <address>, bytes = <size> }, ...]")),
    ("mmio.base", expect("an address", crate::size::ACCEPTED)),
    ("mmio.bytes", expect("a byte quantity", crate::size::ACCEPTED)),
    ("ports", expect("an array of tables", "[{ base = <port>, count = <ports> }, ...]")),
    ("ports.base", expect("an integer", "an I/O port from 0 to 0xFFFF")),
    ("ports.count", expect("an integer", "a number of ports from 1 to 0x10000 - base")),
    ("irqs", expect("an array of integers", "IRQ lines from 0 to 255, e.g. irqs = [4]")),
    ("apic_ids", expect("a table", "apic_ids = { first = <ID>, last = <ID> }, IDs from 0 to 65535")),
    ("apic_ids.first", expect("an integer", "a virtual APIC ID from 0 to 65535")),
    ("apic_ids.last", expect("an integer", "a virtual APIC ID from 0 to 65535")),
    ("apic_id", expect("an integer", "the CPU's physical APIC ID as in the MADT")),
    ("package", expect("an integer", "a package number")),
    ("core", expect("an integer", "a core number within the package")),
    ("thread", expect("an integer", "a thread number within the core")),
    ("to", expect("a string", "the name of another partition, e.g. to = \"beta\"")),
    ("mode", expect("a string", "\"exitless\" or \"trapped\"")),
    ("vectors", expect("an array of integers", "vectors from 16 to 255, e.g. vectors = [0x40, 0x41]")),
    ("partition", expect("an array of tables", "[[partition]] tables (two brackets)")),
    ("route", expect("an array of tables", "[[partition.route]] tables (two brackets)")),
    ("hypervisor", expect("a table", "a [hypervisor] table with base, bytes and console")),
    ("cpu", expect("an array of tables", "[[cpu]] tables (two brackets)")),
    ("ram", expect("an array of tables", "[[ram]] tables (two brackets)")),
    ("device", expect("an array of tables", "[[device]] tables (two brackets)")),
    ("reserved", expect("an array of tables", "[[reserved]] tables (two brackets)")),
];

/// The diagnostic for one schema error of `file` (`board`: whether it is the board file).
pub fn describe(file: &SourceFile, e: &SchemaError, board: bool) -> Diagnostic {
    let span = e.error.span().unwrap_or(0..0);
    let message = e.error.message().trim().replace('\n', "; ");
    let d = file.error(span.clone(), "");
    let field = field_name(&e.path);
    let value = value_text(file, &span);
    let expected = expected_for(&e.path, e.section, board);
    if let Some(name) = missing_field(&message) {
        let mut path = e.path.clone();
        path.push(PathPart::Key(name.clone()));
        let accepted = expected_for(&path, e.section, board).map_or_else(
            || format!("`{name} = ...`"),
            |x| format!("`{name} = ...`: {}", x.accepted),
        );
        return with(d, format!("missing field `{name}` in {}", e.section))
            .found(format!("{} without `{name}`", e.section))
            .accepted(accepted)
            .hint(format!("add `{name}` to this table"));
    }
    for kind in ["unknown field", "unknown variant"] {
        if let Some(rest) = message.strip_prefix(kind) {
            return unknown(d, kind, rest, &field);
        }
    }
    let accepted = |fallback: &str| {
        expected
            .as_ref()
            .map_or_else(|| english(fallback), |x| x.accepted.to_string())
    };
    let element = matches!(e.path.last(), Some(PathPart::Index(_)));
    if let Some((found, wanted)) = invalid(&message, "invalid type: ") {
        let short = match (&expected, element) {
            (Some(x), false) => x.short.to_string(),
            _ => english(wanted), // an element: serde names its type
        };
        let kind = kind_of(found, e.value_type);
        let header_table = found.starts_with("map") && !value.starts_with('{');
        let shown = match header_table {
            false => format!("{field} = {value}"),
            true => format!("`{field}` as a table (made by a [{field}] header, or by a [[{field}.<name>]] header with no [[{field}]] before it)"),
        };
        return with(
            d,
            format!("type error: `{field}` must be {short}, not {kind}"),
        )
        .found(shown)
        .accepted(accepted(wanted));
    }
    if message.starts_with("wanted string or table") {
        let short = expected.as_ref().map_or("a string", |x| x.short);
        let kind = kind_of("", e.value_type);
        return with(
            d,
            format!("type error: `{field}` must be {short}, not {kind}"),
        )
        .found(format!("{field} = {value}"))
        .accepted(accepted("a string"));
    }
    if let Some((_, wanted)) = invalid(&message, "invalid value: ") {
        return with(d, format!("invalid value for `{field}`"))
            .found(format!("{field} = {value}"))
            .accepted(accepted(wanted));
    }
    with(d, format!("`{field}`: {message}"))
        .found(format!("{field} = {value}"))
        .accepted(accepted("the form README.md describes for this field"))
}

fn with(mut d: Diagnostic, message: String) -> Diagnostic {
    d.message = message;
    d
}

/// serde's "unknown field `x`, expected one of `a`, `b`" as message, found, accepted and hint.
fn unknown(d: Diagnostic, kind: &str, rest: &str, field: &str) -> Diagnostic {
    let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let found = found.trim().trim_matches('`');
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let (message, shown, accepted) = if kind == "unknown field" {
        let accepted = match expected.trim_start_matches("one of ") {
            "" => "no fields here".to_string(),
            list => list.to_string(),
        };
        (
            format!("unknown field `{found}`"),
            format!("`{found}`"),
            accepted,
        )
    } else {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let field = field.rsplit('.').next().unwrap_or(field);
        (
            format!("unknown value \"{found}\" for `{field}`"),
            format!("{field} = \"{found}\""),
            quoted.join(", "),
        )
    };
    with(d, message)
        .found(shown)
        .accepted(accepted)
        .maybe_hint(did_you_mean(found, names))
}

/// `("integer `2`", "a sequence")` of "invalid type: integer `2`, expected a sequence".
fn invalid<'m>(message: &'m str, prefix: &str) -> Option<(&'m str, &'m str)> {
    message.strip_prefix(prefix)?.split_once(", expected ")
}

/// `cpus`, `apic_ids.first`, `cpus[1]`, `devices[0].dma`.
fn field_name(path: &[PathPart]) -> String {
    let mut out = String::new();
    for part in path {
        match part {
            PathPart::Key(k) if out.is_empty() => out.push_str(k),
            PathPart::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            PathPart::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push_str("this table");
    }
    out
}

/// What the field at `path` accepts, if the table knows it.
fn expected_for(path: &[PathPart], section: &str, board: bool) -> Option<&'static Expected> {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|p| match p {
            PathPart::Key(k) => Some(k.as_str()),
            PathPart::Index(_) => None,
        })
        .collect();
    let plain = keys.join(".");
    let section = match (section, board) {
        ("the top level", true) => "the top level of the board",
        (s, _) => s,
    };
    let qualified = format!("[{}].{plain}", section.trim_matches(['[', ']']));
    let leaf = keys.last().copied().unwrap_or("");
    [qualified.as_str(), plain.as_str(), leaf]
        .iter()
        .find_map(|name| FIELDS.iter().find(|(f, _)| f == name).map(|(_, x)| x))
}

/// serde's expectation in words: "a sequence" is an array, "u16" an integer from 0 to 65535.
fn english(expected: &str) -> String {
    match expected {
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "u8" => "an integer from 0 to 255".into(),
        "u16" => "an integer from 0 to 65535".into(),
        "u32" => "an integer from 0 to 4294967295".into(),
        "u64" => "an integer from 0 to 2^64 - 1".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e => e.to_string(),
    }
}

/// "an integer", "a string", ... for serde's "integer `2`" (or the value's TOML type).
fn kind_of(found: &str, value_type: Option<&str>) -> String {
    let word = found
        .split([' ', '`'])
        .next()
        .filter(|w| !w.is_empty())
        .or(value_type)
        .unwrap_or("another type");
    match word {
        "integer" => "an integer",
        "boolean" => "a boolean",
        "string" => "a string",
        "floating" | "float" => "a float",
        "sequence" | "array" => "an array",
        "map" | "table" => "a table",
        "datetime" => "a date",
        other => other,
    }
    .to_string()
}

/// The value's text in the file, on one line, at most 60 characters.
fn value_text(file: &SourceFile, span: &std::ops::Range<usize>) -> String {
    let text = file.text.get(span.clone()).unwrap_or("").trim();
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}
