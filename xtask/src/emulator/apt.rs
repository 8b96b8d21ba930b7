//! Debian packaging steps: the trixie deb-src entry (on the machine's own mirror), package
//! installs, and the exact command to run when this process may not do a step itself.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Where the deb-src entry is written.
pub const DEB_SRC_FILE: &str = "/etc/apt/sources.list.d/tessera-trixie-src.sources";

/// Packages the emulator build needs.
pub const BUILD_PACKAGES: [&str; 4] = ["build-essential", "xz-utils", "patch", "dpkg-dev"];

/// Packages the runner needs to turn an ELF into a bootable GRUB ISO.
pub const RUNNER_PACKAGES: [&str; 3] = ["grub-pc-bin", "grub-common", "xorriso"];

/// True when this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The first Debian archive URI among the machine's apt sources (deb822 `.sources` files and
/// one-line `.list` files): a `deb` entry whose URI path ends in `/debian`.
pub fn mirror_from_sources(files: &[(String, String)]) -> Option<String> {
    files.iter().find_map(|(name, text)| {
        if name.ends_with(".sources") {
            deb822_uris(text).into_iter().find(|u| is_debian_archive(u))
        } else {
            one_line_uris(text)
                .into_iter()
                .find(|u| is_debian_archive(u))
        }
    })
}

fn is_debian_archive(uri: &str) -> bool {
    uri.trim_end_matches('/').ends_with("/debian")
}

fn deb822_uris(text: &str) -> Vec<String> {
    let mut uris = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        let is_binary = field("Types:").is_some_and(|t| t.split_whitespace().any(|t| t == "deb"));
        if let (true, Some(list)) = (is_binary, field("URIs:")) {
            uris.extend(list.split_whitespace().map(String::from));
        }
    }
    uris
}

fn one_line_uris(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = match (line.find('['), line.find(']')) {
                (Some(open), Some(close)) if open < close => {
                    format!("{} {}", &line[..open], &line[close + 1..])
                }
                _ => line.to_string(),
            };
            let mut words = line.split_whitespace();
            (words.next()? == "deb").then(|| words.next().map(String::from))?
        })
        .collect()
}

/// The deb-src entry for trixie on `mirror`.
pub fn deb_src_entry(mirror: &str) -> String {
    format!(
        "# Written by `cargo xtask emulator` (Tessera): Debian trixie source packages only,\n\
         # to build the emulator from Debian's `bochs` source package.\n\
         Types: deb-src\nURIs: {mirror}\nSuites: trixie\nComponents: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
}

/// Reads every apt source file of this machine, main list first.
fn read_apt_sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    if let Ok(text) = fs::read_to_string("/etc/apt/sources.list") {
        files.push(("sources.list".to_string(), text));
    }
    let mut entries: Vec<_> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let wanted = name.ends_with(".sources") || name.ends_with(".list");
        if let (true, Ok(text)) = (wanted, fs::read_to_string(&path)) {
            files.push((name, text));
        }
    }
    files
}

/// True when apt knows the source package version we build.
fn source_known(package: &str, version: &str) -> bool {
    Command::new("apt-cache")
        .args(["showsrc", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("Version: {version}")))
}

/// Makes `apt-get source package=version` possible: adds the trixie deb-src entry on the
/// machine's own mirror and refreshes the package lists.
pub fn ensure_deb_src(package: &str, version: &str) -> Result<(), String> {
    if source_known(package, version) {
        return Ok(());
    }
    let mirror = mirror_from_sources(&read_apt_sources()).ok_or_else(|| {
        "no Debian archive (`deb` entry whose URI ends in /debian) in /etc/apt/sources.list or \
         /etc/apt/sources.list.d/*.sources; add one, then rerun"
            .to_string()
    })?;
    let entry = deb_src_entry(&mirror);
    if !is_root() {
        return Err(format!(
            "need root to add the trixie deb-src entry; run:\n{}",
            deb_src_hint(&entry)
        ));
    }
    if !Path::new(DEB_SRC_FILE).exists() {
        eprintln!("emulator: adding {DEB_SRC_FILE} (deb-src trixie on {mirror})");
        fs::write(DEB_SRC_FILE, entry).map_err(|e| format!("cannot write {DEB_SRC_FILE}: {e}"))?;
    }
    run_logged(Command::new("apt-get").arg("update"), "apt-get update")?;
    if source_known(package, version) {
        Ok(())
    } else {
        Err(format!(
            "apt still does not know source package {package}={version} after update"
        ))
    }
}

/// The packages of `wanted` that are not installed.
pub fn missing_packages<'a>(wanted: &[&'a str]) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|pkg| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect()
}

/// Installs whatever of `wanted` is missing (as root), or says exactly what to run.
pub fn ensure_packages(wanted: &[&str]) -> Result<(), String> {
    let missing = missing_packages(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    let command = install_command(&missing);
    if !is_root() {
        return Err(format!(
            "missing Debian packages {}; run:\n  sudo {command}",
            missing.join(", ")
        ));
    }
    eprintln!("emulator: installing {}", missing.join(" "));
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "--no-install-recommends"])
        .args(&missing);
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    run_logged(&mut cmd, &command)
}

/// The shell lines that add the deb-src entry and refresh apt, for a user to run.
pub fn deb_src_hint(entry: &str) -> String {
    format!("sudo tee {DEB_SRC_FILE} >/dev/null <<'END'\n{entry}END\nsudo apt-get update")
}

/// The `apt-get` command that installs `missing`.
pub fn install_command(missing: &[&str]) -> String {
    format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    )
}

/// Runs `cmd`, failing with `what` and its exit status.
pub fn run_logged(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{what}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822_skips_security_and_deb_src() {
        let text = "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n\
                    Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n\
                    Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n";
        let files = vec![("debian.sources".to_string(), text.to_string())];
        assert_eq!(
            mirror_from_sources(&files).as_deref(),
            Some("http://mirror.example/debian/")
        );
    }

    #[test]
    fn mirror_from_one_line_list_with_options() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian bookworm main\n";
        let files = vec![("sources.list".to_string(), text.to_string())];
        assert_eq!(
            mirror_from_sources(&files).as_deref(),
            Some("http://ftp.example/debian")
        );
    }

    #[test]
    fn no_debian_archive_is_none() {
        let text = "deb https://packages.example/apt stable main\n";
        assert_eq!(mirror_from_sources(&[("x.list".into(), text.into())]), None);
    }

    #[test]
    fn hints_are_runnable_commands() {
        let hint = deb_src_hint(&deb_src_entry("http://m.example/debian"));
        assert!(hint.starts_with(&format!("sudo tee {DEB_SRC_FILE} >/dev/null <<'END'\n")));
        assert!(hint.ends_with("\nEND\nsudo apt-get update"));
        assert_eq!(
            install_command(&["xorriso", "mtools"]),
            "apt-get install -y --no-install-recommends xorriso mtools"
        );
    }

    #[test]
    fn entry_is_deb_src_trixie_only() {
        let entry = deb_src_entry("http://m.example/debian");
        assert!(entry.contains("Types: deb-src\n"));
        assert!(entry.contains("URIs: http://m.example/debian\n"));
        assert!(entry.contains("Suites: trixie\n"));
        assert!(!entry.contains("Types: deb\n"));
    }
}
