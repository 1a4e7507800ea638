//! The service in a container, as every task that starts one sees it
//! (run, smoke, lint's image checks, bench): the image to start, and the
//! wait until the service in a started container answers HTTP; the whole
//! stack through Compose (`stack/`); the dev loop (`watch`).

use std::{net::SocketAddr, time::Duration};

use anyhow::{bail, Context, Result};

mod candidate;
pub mod contract;
mod libraries;
pub mod smoke;
pub mod stack;
mod startable;
pub mod watch;

use self::{candidate::Candidate, contract::Contract};
use crate::{
    engine::{
        build::BuildSpec,
        container::{Container, Spec},
        Engine, ImageConfig, ImageInfo,
    },
    report::ImageReport,
    sys::{
        probe::{self, Header},
        wait::Wait,
    },
};

/// How long a started service may take to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The image a task checks: a build that its tag names only once it
/// passed, or the image the tag names already.
pub enum Obtained<'a> {
    Built(Candidate<'a>),
    Existing(ImageReport, ImageConfig),
}

impl Obtained<'_> {
    pub fn report(&self) -> &ImageReport {
        match self {
            Obtained::Built(candidate) => &candidate.report,
            Obtained::Existing(report, _) => report,
        }
    }

    /// How to reach the service in the image: see `Contract`.
    pub fn contract(&self, spec: &BuildSpec) -> Contract {
        let config = match self {
            Obtained::Built(candidate) => &candidate.config,
            Obtained::Existing(_, config) => config,
        };
        Contract::of(config, &spec.contract)
    }

    /// The image passed: its report, once the tag names it.
    pub fn accept(self) -> Result<ImageReport> {
        match self {
            Obtained::Built(candidate) => candidate.promote(),
            Obtained::Existing(report, _) => Ok(report),
        }
    }

    /// The image failed `error`: the error, saying what became of the tag.
    pub fn reject(&self, error: anyhow::Error) -> anyhow::Error {
        match self {
            Obtained::Built(candidate) => candidate.reject(error),
            Obtained::Existing(..) => error,
        }
    }
}

/// Builds `spec` (from the cache) into a candidate, or with `build` false
/// takes the image its tag names.
pub fn obtain<'a>(engine: &'a Engine, spec: &BuildSpec, build: bool) -> Result<Obtained<'a>> {
    if build {
        return Ok(Obtained::Built(Candidate::build(engine, spec)?));
    }
    match engine.inspect_image(&spec.tag)? {
        Some(info) => Ok(Obtained::Existing(existing(&spec.tag, &info, engine), info.config)),
        None => bail!("There is no image {}: build it first, or leave out --no-build.", spec.tag),
    }
}

/// The report of an image that `reference` names already on `engine`.
pub fn existing(reference: &str, info: &ImageInfo, engine: &Engine) -> ImageReport {
    ImageReport::of_image(reference, info, "Using the existing image", &format!(" on {}", engine.name()))
}

/// The `image` task: builds `spec`, and tags the build once it can start
/// its app.
pub fn build_image(engine: &Engine, spec: &BuildSpec) -> Result<ImageReport> {
    checked_build(engine, spec)?.accept()
}

/// Builds `spec` and checks that the build can start its app: the
/// candidate, not tagged yet. A build the tag names already was checked
/// when it was tagged.
pub fn checked_build<'a>(engine: &'a Engine, spec: &BuildSpec) -> Result<Obtained<'a>> {
    let candidate = Candidate::build(engine, spec)?;
    if !candidate.unchanged {
        startable::check(engine, &candidate.report.image_id, &candidate.config).map_err(|e| candidate.reject(e))?;
    }
    Ok(Obtained::Built(candidate))
}

pub fn url(address: SocketAddr) -> String {
    format!("http://{address}")
}

/// Starts `spec`, waits until `health` answers, GETs `health`, `/` and
/// `health` again, and returns what the service wrote to the container's
/// own layer (see `Container::service_writes`). The container goes after.
pub fn writes_after_serving(engine: &Engine, spec: &Spec<'_>, health: &str) -> Result<(u64, Vec<String>)> {
    let container = engine.start(spec)?;
    let address = container.endpoint()?;
    wait_ready(&container, address, health, &[], READY_TIMEOUT)?;
    for path in [health, "/", health] {
        let _ = probe::get(address, path, &[], Duration::from_secs(5));
    }
    container.service_writes()
}

/// Why a service answered 404 on the health path it was given by default
/// (the user named none): run, watch and smoke say it the same way.
pub fn no_health_path(path: &str) -> String {
    format!(
        "GET {path} answered 404: this service has no {path}; set its health path with --health or in \
         docker/build-args."
    )
}

/// Waits until GET `path` answers 200 (`wait_ready`); any other answer
/// fails with the service's last log lines, or, for a 404 on a path
/// nobody named (`named` false: the image's own), with `no_health_path`.
pub fn wait_serving(
    container: &Container,
    address: SocketAddr,
    path: &str,
    named: bool,
    headers: &[Header],
) -> Result<()> {
    match wait_ready(container, address, path, headers, READY_TIMEOUT)? {
        200 => Ok(()),
        404 if !named => bail!(no_health_path(path)),
        status => bail!("GET {path} answered {status}, not 200. {}", container.last_words()),
    }
}

/// Waits until GET `path` gets any HTTP answer, and returns its status.
/// Fails at once when the container exits, and at the deadline when it
/// never answers; either way with the service's last log lines.
pub fn wait_ready(
    container: &Container,
    address: SocketAddr,
    path: &str,
    headers: &[Header],
    timeout: Duration,
) -> Result<u16> {
    // Often: a service that starts in 0.4 s should not wait 0.1 s more.
    let answered = Wait::new(timeout, Duration::from_millis(25)).until(|left| {
        if let Ok(status) = probe::get(address, path, headers, left.min(Duration::from_secs(2))) {
            return Ok(Some(status));
        }
        match container.exit_code().context("cannot inspect the container")? {
            Some(code) => bail!(container.exited(code)),
            None => Ok(None),
        }
    })?;
    answered.with_context(|| {
        format!("GET {path} got no HTTP answer within {} s. {}", timeout.as_secs_f64(), container.last_words())
    })
}
