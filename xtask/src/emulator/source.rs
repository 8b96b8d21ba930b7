//! Who printed a COM1 line. The hypervisor prints every guest console line as `[<partition>] <text>`
//! (a valid partition name: a lowercase letter, then lowercase letters, digits, `-`, `_`) and scrubs
//! the text of newlines and control characters, so a guest can never start a line of its own: every
//! line that begins with such a prefix is a guest's, every other line is the hypervisor's (or the
//! firmware's, before it starts). Its own lines never begin with a partition prefix: log lines start
//! with `[cpu<n> <LEVEL>]`, which holds a space no partition name may contain.

/// The printer of one COM1 line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// Printed for partition `partition` through the console hypercall.
    Guest { partition: &'a str },
    /// Printed by the hypervisor itself (or the firmware before it).
    Hypervisor,
}

/// The source of `line` and the text after its guest prefix (the whole line for the hypervisor).
pub fn split(line: &str) -> (Source<'_>, &str) {
    let guest = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .filter(|(name, _)| tessera_manifest::check::valid_name(name));
    match guest {
        Some((partition, text)) => (Source::Guest { partition }, text),
        None => (Source::Hypervisor, line),
    }
}

/// True when the hypervisor (not a guest) printed `line`.
pub fn is_hypervisor(line: &str) -> bool {
    split(line).0 == Source::Hypervisor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_lines_carry_a_partition_prefix() {
        assert_eq!(
            split("[ping-poll] SUMMARY x=1"),
            (
                Source::Guest {
                    partition: "ping-poll"
                },
                "SUMMARY x=1"
            )
        );
        assert_eq!(
            split("[forger] TESSERA-RESULT: pass").0,
            Source::Guest {
                partition: "forger"
            }
        );
    }

    #[test]
    fn everything_else_is_the_hypervisor() {
        for line in [
            "TESSERA-RESULT: pass",
            "[cpu0 INFO ] stopped: partition memory vcpu 1 rip 0x0: EPT violation",
            "SUMMARY partition=alpha exits=10 result=pass",
            "[Alpha] capital letters are no partition name",
            "[a b] neither are spaces",
            "[alpha]no space after the bracket",
            "  Booting `tessera'",
        ] {
            assert!(is_hypervisor(line), "{line}");
        }
    }
}
