//! The smoke checks: build (or take) the image, start it, wait until its
//! health path answers, ask each path, stop it; the tag moves only when
//! every check passed. `smoke` runs them, and `push --smoke` before it
//! pushes. The container never outlives them: success, failure, Ctrl-C
//! and SIGTERM all remove it.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use super::{contract::Contract, Obtained, READY_TIMEOUT};
use crate::{
    engine::{
        build::BuildSpec,
        container::{Settings, Spec, Stopped},
        Engine,
    },
    report::{extends_image, ImageReport},
    sys::{
        millis,
        probe::{self, Header},
        signals, text,
    },
};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    #[serde(flatten)]
    pub image: ImageReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub checks: Vec<Check>,
    pub timings: Timings,
    /// The service's exit code after the graceful stop: 0 when it ended on
    /// SIGTERM, 137 when the engine had to kill it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_exit_code: Option<i64>,
}

extends_image!(SmokeReport);

#[derive(Debug, Serialize)]
pub struct Check {
    pub path: String,
    /// None: no HTTP answer.
    pub status: Option<u16>,
    pub expected: u16,
    pub ok: bool,
}

/// Milliseconds; a step that did not happen is left out.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_ms: Option<u64>,
    /// The engine's run until the container was created and started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// The engine's run until the first HTTP answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
}

/// What to check, and how.
#[derive(Debug)]
pub struct Checks {
    pub spec: BuildSpec,
    pub build: bool,
    /// Each path, and the status it must answer. None given: the health
    /// path and `/`, each 200.
    pub paths: Vec<(String, u16)>,
    pub headers: Vec<Header>,
    pub settings: Settings,
    pub timeout: Duration,
}

impl Checks {
    /// The default checks of `spec`'s image, with `settings`: for `push --smoke`.
    pub fn defaults(spec: BuildSpec, build: bool, settings: Settings) -> Checks {
        Checks { spec, build, paths: Vec::new(), headers: Vec::new(), settings, timeout: READY_TIMEOUT }
    }

    /// Builds (or takes) the image and checks it, and moves the tag only
    /// when it passed.
    pub fn run(&self, engine: &Engine, report: &mut SmokeReport) -> Result<String> {
        let (image, passed) = self.check(engine, report)?;
        report.image = image.accept()?;
        Ok(passed)
    }

    /// Builds (or takes) the image and checks it: the image that passed,
    /// not tagged yet, for a caller that has more to do before it moves
    /// the tag (`push --smoke` pushes first).
    pub fn check<'a>(&self, engine: &'a Engine, report: &mut SmokeReport) -> Result<(Obtained<'a>, String)> {
        engine.sweep_leftovers()?;
        let clock = Instant::now();
        let image = super::obtain(engine, &self.spec, self.build)?;
        report.image = image.report().clone();
        report.timings.build_ms = Some(elapsed_ms(clock));
        let passed = self.probe(engine, &image.contract(&self.spec), report).map_err(|e| image.reject(e))?;
        Ok((image, passed))
    }

    /// Starts the image, waits until its health path answers, GETs each
    /// path, stops it; what passed, or why not.
    fn probe(&self, engine: &Engine, contract: &Contract, report: &mut SmokeReport) -> Result<String> {
        signals::check()?;
        let clock = Instant::now();
        let spec = Spec {
            tag: report.image.tag.as_deref(),
            settings: self.settings.clone(),
            ..Spec::owned("smoke", &report.image.image_id, contract.port)
        };
        let container = engine.start(&spec)?;
        report.timings.start_ms = Some(elapsed_ms(clock));
        let port = container.endpoint()?;
        report.url = Some(super::url(port));
        super::wait_ready(&container, port, &contract.health, &self.headers, self.timeout)?;
        report.timings.ready_ms = Some(elapsed_ms(clock));

        let defaults = [(contract.health.clone(), 200), ("/".to_string(), 200)];
        let paths = if self.paths.is_empty() { &defaults[..] } else { &self.paths[..] };
        for (path, expected) in paths {
            let status = probe::get(port, path, &self.headers, Duration::from_secs(5)).ok();
            report.checks.push(Check {
                path: path.clone(),
                status,
                expected: *expected,
                ok: status == Some(*expected),
            });
        }
        // The log is read only when it explains a failure, and before the container goes.
        let failed = report.checks.iter().any(|c| !c.ok);
        let logs = if failed { container.last_words() } else { String::new() };
        let stopped = container.stop()?;
        report.timings.stop_ms = Some(millis(stopped.took) as u64);
        report.stop_exit_code = stopped.exit_code;
        let stop = stop_said(&stopped);

        let said: Vec<String> = report.checks.iter().map(said).collect();
        if failed {
            let expected = match report.checks.iter().all(|c| c.expected == 200) {
                true => "200",
                false => "as expected",
            };
            bail!("Not every path answered {expected}: {}.{stop} {logs}", said.join(", "));
        }
        Ok(format!(
            "{} passed on {}: {}; ready in {} ms.{stop}",
            report.image.tag.as_deref().unwrap_or("the image"),
            engine.name(),
            said.join(", "),
            report.timings.ready_ms.unwrap_or(0)
        ))
    }
}

/// A sentence when the service ignored SIGTERM: every stop and rolling
/// update then waits out the engine's grace time.
fn stop_said(stopped: &Stopped) -> String {
    match stopped.was_killed() {
        true => format!(
            " The service did not end on SIGTERM: the engine killed it after {} s. A shell-form CMD \
             (`CMD uvicorn …`) runs it under /bin/sh, which does not pass the signal on; use the exec form.",
            stopped.took.as_secs()
        ),
        false => String::new(),
    }
}

/// `GET /path 404`, and what was expected when it was not 200.
fn said(check: &Check) -> String {
    let answer = check.status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let expected = if check.expected == 200 { String::new() } else { format!(" (expected {})", check.expected) };
    format!("GET {} {answer}{expected}", text::cut(&check.path))
}

fn elapsed_ms(since: Instant) -> u64 {
    millis(since.elapsed()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_killed_at_stop_is_named() {
        let stopped = |exit_code| Stopped { took: Duration::from_millis(10_020), exit_code };
        assert_eq!(stop_said(&stopped(Some(0))), "");
        assert_eq!(stop_said(&stopped(None)), "");
        let said = stop_said(&stopped(Some(137)));
        assert!(said.starts_with(" The service did not end on SIGTERM: the engine killed it after 10 s."), "{said}");
    }

    #[test]
    fn the_report_names_each_check_and_timing() {
        let report = SmokeReport {
            checks: vec![Check { path: "/health".into(), status: Some(500), expected: 200, ok: false }],
            timings: Timings { build_ms: Some(1), ready_ms: Some(3), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"imageId":"","success":false,"checks":[{"path":"/health","status":500,"expected":200,"ok":false}],"timings":{"buildMs":1,"readyMs":3}}"#
        );
    }
}
