//! The check that the banner a booted appliance image printed names the version and manifest
//! digest of the image's metadata (the `disk-image` and `uefi-boot` checks use it).

use super::Metadata;

/// Why `serial` does not show the banner `metadata` promises, if it does not: its version, the
/// SHA-256 of its manifest and its board's name (`Tessera <version> manifest sha256 <digest>:
/// board <name>, `). The banner is the first line the hypervisor prints (`Tessera ...`, before any
/// `[cpu<n> LEVEL]` log line); a guest's lines start with `[<partition>] `, so no guest output
/// could stand in for it.
pub fn banner_problem(serial: &str, metadata: &Metadata) -> Option<String> {
    let expected = format!(
        "Tessera {} manifest sha256 {}: board {}, ",
        metadata.tessera_version, metadata.manifest.sha256, metadata.board.name
    );
    let lines = serial
        .lines()
        .map(|l| crate::emulator::strip_ansi(l).replace('\r', ""));
    let mut own = lines
        .into_iter()
        .filter(|l| l.starts_with("Tessera ") || l.starts_with("[cpu"));
    let Some(first) = own.next() else {
        return Some("the hypervisor printed no banner and no log line".into());
    };
    if first.starts_with(&expected) {
        None
    } else {
        Some(format!(
            "the hypervisor's first log line is `{first}`, expected it to start with `{expected}`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::metadata::tests::sample;
    use super::*;

    fn banner(metadata: &Metadata) -> String {
        format!(
            "{}: board emulator, 2 partition(s), 4 vCPU(s), IPIv required\n",
            metadata.hypervisor.build_id
        )
    }

    #[test]
    fn the_banner_must_name_the_metadata_version_and_digest() {
        let metadata = sample();
        let serial = banner(&metadata) + "[cpu0 INFO ] heap: used 1 of 2 bytes\n";
        assert_eq!(banner_problem(&serial, &metadata), None);
        let mut other = metadata.clone();
        other.tessera_version = "9.9.9".into();
        let problem = banner_problem(&serial, &other).unwrap();
        assert!(
            problem.contains("expected it to start with `Tessera 9.9.9 manifest sha256"),
            "{problem}"
        );
        let mut other = metadata.clone();
        other.manifest.sha256 = "00".repeat(32);
        let problem = banner_problem(&serial, &other).unwrap();
        assert!(problem.contains(&"00".repeat(32)), "{problem}");
    }

    #[test]
    fn grub_escape_sequences_before_the_banner_are_ignored() {
        let metadata = sample();
        let serial = format!("\u{1b}[0m\u{1b}[30m\u{1b}[2J{}", banner(&metadata));
        assert_eq!(banner_problem(&serial, &metadata), None);
    }

    #[test]
    fn a_guest_cannot_print_the_banner_for_the_hypervisor() {
        let metadata = sample();
        let spoof = format!("[alpha] {}", banner(&metadata));
        let serial = format!(
            "Tessera 0.0.0 manifest sha256 ff: board emulator, \n{spoof}{}",
            banner(&metadata)
        );
        assert!(banner_problem(&serial, &metadata).is_some());
        assert!(banner_problem(&spoof, &metadata).is_some());
    }
}
