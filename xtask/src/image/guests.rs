//! Builds every test guest crate under tests/guests/ for the bare-metal target (profile `guest`:
//! optimized, stripped; or the profile its `[package.metadata.tessera] profile` names, such as
//! `guest-size` for the embedded `hello`) and places each binary at target/guests/<name>, where
//! manifests refer to it (`image = "../target/guests/<name>"`). A binary is copied only when its
//! bytes changed, so the hypervisor's build script (which tracks image files) does not rebuild for
//! nothing. Guests that enable features of a dependency (the latency guest's
//! `tessera-guest/latency-plan`) are built in cargo runs of their own: built with the others, cargo
//! would unify the features into every guest (7 KiB more in each embedded `hello`); so are the
//! guests of each other profile.

use std::fs;
use std::path::{Path, PathBuf};

/// One guest crate: its package and binary name (the directory name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub package: String,
    pub name: String,
    /// It enables features of a dependency, so it is built alone (see the module's text).
    pub enables_features: bool,
    /// The cargo profile it is built with (`guest` unless its manifest names another).
    pub profile: String,
}

/// The profile of the test guests that name none.
pub const DEFAULT_PROFILE: &str = "guest";

/// The guest crates under `guests_dir` (each directory with a Cargo.toml), sorted by name.
pub fn discover(guests_dir: &Path) -> Result<Vec<Guest>, String> {
    let entries = fs::read_dir(guests_dir).map_err(|e| format!("{}: {e}", guests_dir.display()))?;
    let mut guests = Vec::new();
    for entry in entries {
        let dir = entry.map_err(|e| e.to_string())?.path();
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            guests.push(read_guest(&manifest, &dir)?);
        }
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

fn read_guest(manifest: &Path, dir: &Path) -> Result<Guest, String> {
    let text = fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let package = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| format!("{}: no [package] name", manifest.display()))?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: directory name is not UTF-8", dir.display()))?;
    let bin_matches = table
        .get("bin")
        .and_then(|b| b.as_array())
        .is_some_and(|bins| {
            bins.iter()
                .any(|b| b.get("name").and_then(|n| n.as_str()) == Some(name))
        });
    if !bin_matches {
        return Err(format!(
            "{}: expected a [[bin]] named `{name}` (a guest's binary is named after its directory)",
            manifest.display()
        ));
    }
    let enables_features = table
        .get("dependencies")
        .and_then(|d| d.as_table())
        .is_some_and(|deps| {
            deps.values().any(|dep| {
                dep.get("features")
                    .and_then(|f| f.as_array())
                    .is_some_and(|f| !f.is_empty())
            })
        });
    let profile = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("tessera"))
        .and_then(|t| t.get("profile"));
    let profile = match profile {
        None => DEFAULT_PROFILE,
        Some(toml::Value::String(profile)) => profile.as_str(),
        Some(other) => {
            return Err(format!(
                "{}: [package.metadata.tessera] profile must be a string naming a cargo profile, not {other}",
                manifest.display()
            ))
        }
    };
    Ok(Guest {
        package: package.to_string(),
        name: name.to_string(),
        enables_features,
        profile: profile.to_string(),
    })
}

/// The cargo runs that build `guests`: (profile, packages), one per profile for the guests that
/// enable no features of a dependency, then one per guest that does.
pub fn runs(guests: &[Guest]) -> Vec<(&str, Vec<&str>)> {
    let mut runs: Vec<(&str, Vec<&str>)> = Vec::new();
    for guest in guests.iter().filter(|g| !g.enables_features) {
        match runs
            .iter_mut()
            .find(|(profile, _)| *profile == guest.profile)
        {
            Some((_, packages)) => packages.push(&guest.package),
            None => runs.push((&guest.profile, vec![&guest.package])),
        }
    }
    let alone = guests.iter().filter(|g| g.enables_features);
    runs.extend(alone.map(|g| (g.profile.as_str(), vec![g.package.as_str()])));
    runs
}

/// Builds `guests` (see [`runs`]) and copies each binary to `out_dir/<name>`; returns the paths.
pub fn build(guests: &[Guest], target_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    for (profile, packages) in runs(guests) {
        crate::workspace::bare_metal::BareMetal {
            packages: &packages,
            profile,
            target_dir,
            env: Vec::new(),
            env_remove: &[],
            features: &[],
            what: "the test guests",
        }
        .build()?;
    }
    if guests.is_empty() {
        return Ok(Vec::new());
    }
    fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    guests
        .iter()
        .map(|guest| {
            let built = crate::workspace::bare_metal::output_dir(target_dir, &guest.profile);
            crate::workspace::copy_if_changed(&built.join(&guest.name), &out_dir.join(&guest.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_guests_are_found_with_their_binaries() {
        let dir = crate::workspace::root().join("tests/guests");
        let guests = discover(&dir).unwrap();
        let names: Vec<&str> = guests.iter().map(|g| g.name.as_str()).collect();
        for expected in ["hello", "isolation", "smp"] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let hello = guests.iter().find(|g| g.name == "hello").unwrap();
        assert_eq!(hello.package, "tessera-guest-hello");
        assert!(hello.enables_features, "tessera-guest/compact");
        assert_eq!(
            hello.profile, "guest-size",
            "the embedded guest is built for size"
        );
        let latency = guests.iter().find(|g| g.name == "latency").unwrap();
        assert!(
            latency.enables_features,
            "it enables tessera-guest/latency-plan"
        );
        assert_eq!(latency.profile, DEFAULT_PROFILE, "measurements keep theirs");
        let runs = runs(&guests);
        let with_hello: Vec<_> = runs
            .iter()
            .filter(|(_, packages)| packages.contains(&"tessera-guest-hello"))
            .collect();
        assert_eq!(with_hello.len(), 1);
        assert_eq!(
            *with_hello[0],
            ("guest-size", vec!["tessera-guest-hello"]),
            "built alone with its profile"
        );
        assert!(runs
            .iter()
            .any(|(profile, packages)| *profile == DEFAULT_PROFILE
                && packages.contains(&"tessera-guest-ipi")));
    }

    fn guest(package: &str, profile: &str, enables_features: bool) -> Guest {
        Guest {
            package: package.into(),
            name: package.into(),
            enables_features,
            profile: profile.into(),
        }
    }

    #[test]
    fn guests_are_built_together_per_profile_and_alone_with_features() {
        let guests = [
            guest("a", "guest", false),
            guest("b", "guest-size", false),
            guest("c", "guest", false),
            guest("d", "guest", true),
        ];
        assert_eq!(
            runs(&guests),
            [
                ("guest", vec!["a", "c"]),
                ("guest-size", vec!["b"]),
                ("guest", vec!["d"]),
            ]
        );
    }

    #[test]
    fn a_profile_that_is_not_a_string_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let guest = dir.path().join("g");
        fs::create_dir(&guest).unwrap();
        fs::write(
            guest.join("Cargo.toml"),
            "[package]\nname = \"g\"\n[package.metadata.tessera]\nprofile = 3\n[[bin]]\nname = \"g\"\npath = \"src/main.rs\"\n",
        )
        .unwrap();
        let error = discover(dir.path()).unwrap_err();
        assert!(error.contains("profile must be a string"), "{error}");
    }

    #[test]
    fn a_guest_whose_binary_is_misnamed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let guest = dir.path().join("pingpong");
        fs::create_dir(&guest).unwrap();
        fs::write(
            guest.join("Cargo.toml"),
            "[package]\nname = \"g\"\n[[bin]]\nname = \"other\"\npath = \"src/main.rs\"\n",
        )
        .unwrap();
        let error = discover(dir.path()).unwrap_err();
        assert!(error.contains("[[bin]] named `pingpong`"), "{error}");
    }
}
