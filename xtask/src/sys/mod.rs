//! Plumbing that knows nothing of containers: child processes, the HTTP
//! probe, signals, project paths, the host-side tools' venv, a tar reader,
//! the cutting of long output, file events and a TCP proxy (for `watch`);
//! and, for the unit tests, the blocks of the docs that the code writes.

#[cfg(test)]
pub mod doc_blocks;
pub mod files;
pub mod hash;
pub mod mask;
pub mod probe;
pub mod process;
pub mod project;
pub mod proxy;
pub mod signals;
pub mod tar;
pub mod text;
pub mod usage;
pub mod venv;
pub mod wait;
pub mod watcher;

use std::time::Duration;

/// Milliseconds, as every report and table counts time.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Today's date in UTC, `YYYY-MM-DD`, as the bench dates its figures.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

/// The date `days` after 1970-01-01, by Howard Hinnant's civil_from_days.
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20_513), "2026-03-01");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
    }
}
