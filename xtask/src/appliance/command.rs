//! `cargo xtask inspect IMAGE`: prints an appliance image's metadata and checks every digest it
//! records; exit 1 naming each mismatch (or when the metadata cannot be read at all).

use super::inspect::{inspect_file, Report};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Clone)]
pub struct InspectArgs {
    /// The disk image (`target/images/<manifest>-<version>.img`).
    pub image: PathBuf,
}

/// Entry point of `cargo xtask inspect`.
pub fn inspect_main(args: &InspectArgs) -> ExitCode {
    match inspect_file(&args.image) {
        Ok(report) => {
            print!("{}", render(&args.image.display().to_string(), &report));
            if report.mismatches().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The metadata body, one line per check, and the verdict.
pub fn render(shown: &str, report: &Report) -> String {
    let mut out = format!(
        "# metadata of {shown} (format {})\n",
        report.metadata.format
    );
    out.push_str(&report.body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("\n# checks\n");
    for check in &report.checks {
        match &check.problem {
            None => out.push_str(&format!("ok        {}\n", check.what)),
            Some(problem) => out.push_str(&format!("MISMATCH  {}: {problem}\n", check.what)),
        }
    }
    let bad = report.mismatches();
    if bad.is_empty() {
        out.push_str(&format!(
            "{shown}: all {} checks match the metadata\n",
            report.checks.len()
        ));
    } else {
        let names: Vec<&str> = bad.iter().map(|c| c.what.as_str()).collect();
        out.push_str(&format!(
            "{shown}: {} of {} checks do not match: {}\n",
            bad.len(),
            report.checks.len(),
            names.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{inspect::inspect, sample};
    use super::*;

    #[test]
    fn the_verdict_names_every_mismatch() {
        let (image, _) = sample::image(3);
        let good = render("x.img", &inspect(&image).unwrap());
        assert!(good.contains("x.img: all "), "{good}");
        assert!(
            good.contains("tessera_version = \"0.1.0+abcdef0\""),
            "{good}"
        );
        let mut bad = image.clone();
        bad[300] ^= 1;
        let text = render("x.img", &inspect(&bad).unwrap());
        assert!(text.contains("MISMATCH  region partition-table"), "{text}");
        assert!(text.contains("x.img: 1 of "), "{text}");
    }
}
