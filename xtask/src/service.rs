//! What `run` and `smoke` share: the image to start, and the wait until
//! the service in a started container answers HTTP.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::{
    container::Container,
    image::{Image, ImageReport},
    probe, signals,
};

/// When to build the image before starting it.
pub enum Build {
    Always,
    IfMissing,
    Never,
}

pub fn obtain_image(sh: &Shell, image: &Image, build: Build) -> Result<ImageReport> {
    let existing = match build {
        Build::Always => None,
        Build::IfMissing | Build::Never => image.existing(sh)?,
    };
    match (existing, build) {
        (Some(report), _) => Ok(report),
        (None, Build::Never) => bail!("There is no image {}: build it first, or leave out --no-build.", image.tag),
        (None, _) => image.build(sh),
    }
}

pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Waits until GET `path` gets any HTTP answer, and returns its status.
/// Fails at once when the container exits, and at the deadline when it
/// never answers; either way with the service's last log lines.
pub fn wait_ready(container: &Container<'_>, port: u16, path: &str, timeout: Duration) -> Result<u16> {
    let deadline = Instant::now() + timeout;
    loop {
        signals::check()?;
        let left = deadline.saturating_duration_since(Instant::now());
        if let Ok(status) = probe::get(port, path, left.min(Duration::from_secs(2))) {
            return Ok(status);
        }
        if let Some(code) = container.exit_code().context("cannot inspect the container")? {
            bail!(
                "The container exited with code {code} before it answered. Its last log lines:\n{}",
                container.log_tail(20)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "GET {path} got no HTTP answer within {} s. The container's last log lines:\n{}",
                timeout.as_secs_f64(),
                container.log_tail(20)
            );
        }
        thread::sleep(left.min(Duration::from_millis(100)));
    }
}
