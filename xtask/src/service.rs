//! The service in a container, as every task that starts one sees it
//! (run, smoke, lint's image checks, bench): the image to start, and the
//! wait until the service in a started container answers HTTP.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{
    engine::{build::BuildSpec, container::Container, Engine},
    report::ImageReport,
    sys::{probe, signals},
};

/// How long a started service may take to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of the service's last log lines explain a failure.
pub const LOG_LINES: usize = 20;

/// When to build the image before starting it.
pub enum Build {
    Always,
    IfMissing,
    Never,
}

/// The image report of the image `spec` names: built, or as it exists.
pub fn obtain_image(engine: &Engine, spec: &BuildSpec, build: Build) -> Result<ImageReport> {
    let existing = match build {
        Build::Always => None,
        Build::IfMissing | Build::Never => engine.inspect_image(&spec.tag)?,
    };
    match (existing, build) {
        (Some(info), _) => Ok(ImageReport::of_image(&spec.tag, &info, "Using the existing image", "")),
        (None, Build::Never) => bail!("There is no image {}: build it first, or leave out --no-build.", spec.tag),
        (None, _) => build_image(engine, spec),
    }
}

/// Builds `spec`: the `image` task's report.
pub fn build_image(engine: &Engine, spec: &BuildSpec) -> Result<ImageReport> {
    let built = engine.build(spec)?;
    Ok(ImageReport::of_image(&spec.tag, &built.info, "Built", &format!(" on {}", built.bases)))
}

pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Waits until GET `path` gets any HTTP answer, and returns its status.
/// Fails at once when the container exits, and at the deadline when it
/// never answers; either way with the service's last log lines.
pub fn wait_ready(container: &Container, port: u16, path: &str, timeout: Duration) -> Result<u16> {
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
                container.log_tail(LOG_LINES)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "GET {path} got no HTTP answer within {} s. The container's last log lines:\n{}",
                timeout.as_secs_f64(),
                container.log_tail(LOG_LINES)
            );
        }
        thread::sleep(left.min(Duration::from_millis(100)));
    }
}
