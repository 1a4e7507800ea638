//! Plumbing that knows nothing of containers: child processes, the HTTP
//! probe, signals, project paths, the host-side tools' venv, a tar reader.

pub mod probe;
pub mod process;
pub mod project;
pub mod signals;
pub mod tar;
pub mod venv;

use std::time::Duration;

/// Milliseconds, as every report and table counts time.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
