//! The build time an appliance image records: `SOURCE_DATE_EPOCH` when set (the reproducible-builds
//! convention), else the commit time of HEAD, else 0; never the wall clock, so rebuilding the same
//! commit gives the same bytes. Also UTC calendar dates for the metadata and the FAT timestamps.

use std::path::Path;
use std::process::Command;

/// Seconds since 1970-01-01T00:00:00Z and where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildTime {
    pub epoch_s: u64,
    /// `SOURCE_DATE_EPOCH`, `commit` or `none` (neither set nor in git: time 0).
    pub source: &'static str,
}

/// The build time for a build of the tree at `root`.
pub fn build_time(root: &Path) -> Result<BuildTime, String> {
    let variable = std::env::var("SOURCE_DATE_EPOCH").ok();
    choose(variable.as_deref(), || commit_time(root))
}

/// `SOURCE_DATE_EPOCH`'s value if given (it must be whole seconds), else the commit time, else 0.
fn choose(
    source_date_epoch: Option<&str>,
    commit: impl FnOnce() -> Option<u64>,
) -> Result<BuildTime, String> {
    if let Some(text) = source_date_epoch {
        let epoch_s = text.trim().parse().map_err(|_| {
            format!(
                "SOURCE_DATE_EPOCH={text:?}: expected whole seconds since 1970-01-01 UTC (e.g. 1700000000)"
            )
        })?;
        return Ok(BuildTime {
            epoch_s,
            source: "SOURCE_DATE_EPOCH",
        });
    }
    Ok(match commit() {
        Some(epoch_s) => BuildTime {
            epoch_s,
            source: "commit",
        },
        None => BuildTime {
            epoch_s: 0,
            source: "none",
        },
    })
}

fn commit_time(root: &Path) -> Option<u64> {
    let output = Command::new("git")
        .args(["log", "-1", "--format=%ct", "HEAD"])
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then_some(())?;
    text.trim().parse().ok()
}

/// A UTC calendar date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Utc {
    /// The date and time of `epoch_s` (proleptic Gregorian calendar).
    pub fn from_epoch(epoch_s: u64) -> Utc {
        let days = (epoch_s / 86_400) as i64;
        let of_day = (epoch_s % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Utc {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Year, month (1-12) and day (1-31) of the day `days` after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(Utc::from_epoch(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Utc::from_epoch(951_782_400).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Utc::from_epoch(1_700_000_000).rfc3339(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            Utc::from_epoch(4_102_444_799).rfc3339(),
            "2099-12-31T23:59:59Z"
        );
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let mut previous = Utc::from_epoch(0);
        for day in 1..(200 * 366) {
            let next = Utc::from_epoch(day * 86_400);
            let same_month = next.year == previous.year && next.month == previous.month;
            if same_month {
                assert_eq!(next.day, previous.day + 1, "{next:?} after {previous:?}");
            } else {
                assert_eq!(next.day, 1, "{next:?} after {previous:?}");
                assert!((28..=31).contains(&previous.day), "{previous:?}");
            }
            previous = next;
        }
    }

    #[test]
    fn source_date_epoch_wins_and_must_be_seconds() {
        let chosen = choose(Some("1700000000"), || Some(5)).unwrap();
        assert_eq!(
            (chosen.epoch_s, chosen.source),
            (1_700_000_000, "SOURCE_DATE_EPOCH")
        );
        let error = choose(Some("yesterday"), || Some(5)).unwrap_err();
        assert!(error.contains("SOURCE_DATE_EPOCH=\"yesterday\""), "{error}");
        assert_eq!(choose(None, || Some(5)).unwrap().source, "commit");
        assert_eq!(
            choose(None, || None).unwrap(),
            BuildTime {
                epoch_s: 0,
                source: "none"
            }
        );
    }

    #[test]
    fn the_commit_time_is_used_in_git() {
        let root = crate::workspace::root();
        if std::env::var_os("SOURCE_DATE_EPOCH").is_none() && commit_time(&root).is_some() {
            let time = build_time(&root).unwrap();
            assert_eq!(time.source, "commit");
            assert!(time.epoch_s > 1_600_000_000, "{time:?}");
        }
    }
}
