//! The smoke checks: build (or take) the image, start it, wait until its
//! health path answers, ask each path, stop it; the tag moves only when
//! every check passed. `smoke` runs them, and `push --smoke` before it
//! pushes. The container never outlives them: success, failure, Ctrl-C
//! and SIGTERM all remove it.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use serde::Serialize;

use super::{contract::Contract, Obtained};
use crate::{
    engine::{
        build::BuildSpec,
        container::{Settings, Spec, Stopped},
        Engine,
    },
    model::checks::Request,
    report::{extends_image, ImageReport},
    service::stack::ServiceState,
    sys::{
        mask, millis,
        probe::{self, Header},
        signals, text,
        wait::Wait,
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
    /// `--stack`: the Compose project the run started, and removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `--stack`: each service of the stack.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceState>,
}

extends_image!(SmokeReport, |report| super::stack::table(&report.services));

#[derive(Debug, Serialize)]
pub struct Check {
    /// Left out for GET.
    #[serde(skip_serializing_if = "is_get")]
    pub method: String,
    pub path: String,
    /// None: no HTTP answer.
    pub status: Option<u16>,
    pub expected: u16,
    pub ok: bool,
    /// What was wrong with the answer, when something was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

fn is_get(method: &str) -> bool {
    method == "GET"
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
    /// The engine's run until the first HTTP answer (`--stack`: until
    /// every service was ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<u64>,
    /// `--stack`: the checks, from the stack's readiness to their end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
}

/// What to check, and how.
#[derive(Debug)]
pub struct Checks {
    pub spec: BuildSpec,
    pub build: bool,
    /// The requests, each with the answer it must get. None given: GET the
    /// ready path and `/`, each 200.
    pub requests: Vec<Request>,
    /// Sent with every request, the wait for readiness included.
    pub headers: Vec<Header>,
    /// The path that says the service is ready; None: the image's health path.
    pub ready: Option<String>,
    pub settings: Settings,
    pub timeout: Duration,
    /// The checks of the whole stack, after `requests` (`--stack`).
    pub stack: Vec<Request>,
}

impl Checks {
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

    /// The requests to make: the given ones, else GET `ready` and `/`.
    pub fn requests_or_defaults(&self, ready: &str) -> Vec<Request> {
        match self.requests.is_empty() {
            true => vec![Request::get(ready.to_string(), 200), Request::get("/".to_string(), 200)],
            false => self.requests.clone(),
        }
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
        let ready = self.ready.as_deref().unwrap_or(&contract.health);
        super::wait_ready(&container, port, ready, &self.headers, self.timeout)?;
        report.timings.ready_ms = Some(elapsed_ms(clock));

        ask(port, &self.requests_or_defaults(ready), &self.headers, &mut report.checks)?;
        // The log is read only when it explains a failure, and before the container goes.
        let failed = report.checks.iter().any(|c| !c.ok);
        let logs = if failed { container.last_words() } else { String::new() };
        let stopped = container.stop()?;
        report.timings.stop_ms = Some(millis(stopped.took) as u64);
        report.stop_exit_code = stopped.exit_code;
        // A signal during the stop (a clean-up step, run to its end) ends
        // the run as any signal does: never as a pass.
        signals::check()?;
        let stop = stop_said(&stopped);

        let said: Vec<String> = report.checks.iter().map(said).collect();
        if failed {
            // The default health path, which the service does not have.
            let no_health = report.checks.iter().any(|c| c.path == ready && c.status == Some(404));
            if self.requests.is_empty() && self.ready.is_none() && no_health {
                bail!("{}{stop}", super::no_health_path(ready));
            }
            let gets = self.requests.iter().all(|r| r.method == "GET" && r.field.is_none());
            let expected = match (gets, report.checks.iter().all(|c| c.expected == 200)) {
                (true, true) => "Not every path answered 200",
                (true, false) => "Not every path answered as expected",
                (false, _) => "Not every check passed",
            };
            bail!("{expected}: {}.{stop} {logs}", said.join(", "));
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

/// Sends each request in turn to `address`, and records its check. A
/// field an answer had fills the `{name}` of the paths after it; a check
/// with `within` is asked again until it passes or its time is up.
pub fn ask(address: SocketAddr, requests: &[Request], headers: &[Header], checks: &mut Vec<Check>) -> Result<()> {
    let mut values = BTreeMap::new();
    for request in requests {
        let request = request.with_values(&values);
        let within = Duration::from_secs_f64(request.within.unwrap_or(0.0));
        let body = request.body();
        let headers: Vec<Header> = headers.iter().cloned().chain(request.headers.clone()).collect();
        let body = body.as_ref().map(|(content_type, bytes)| (*content_type, bytes.as_slice()));
        let sent = probe::Request { method: &request.method, path: &request.path, headers: &headers, body };
        // The last answer is the check's, passed or not.
        let mut last = None;
        Wait::new(within, Duration::from_millis(100)).until(|_| {
            let answer = probe::send(address, &sent, Duration::from_secs(5));
            let fault = match &answer {
                Ok(answer) => request.fault(answer.status, &answer.body),
                Err(_) => Some("got no answer".to_string()),
            };
            let passed = fault.is_none();
            last = Some((answer, fault));
            Ok(passed.then_some(()))
        })?;
        let (answer, fault) = last.expect("a wait makes one attempt at least");
        if let Some((name, value)) = answer.as_ref().ok().and_then(|answer| request.value(&answer.body)) {
            // A token that a login gave is a secret as any other.
            mask::setting(&name, &value);
            values.insert(name, value);
        }
        checks.push(Check {
            method: request.method.clone(),
            path: request.path.clone(),
            status: answer.ok().map(|answer| answer.status),
            expected: request.status,
            ok: fault.is_none(),
            fault,
        });
    }
    Ok(())
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

/// `GET /path 404`, with what was expected when the answer was not that
/// (and the sentence does not say already: 200), or what was wrong with it.
pub(super) fn said(check: &Check) -> String {
    let (method, path) = (&check.method, text::cut(&check.path));
    match (&check.fault, check.status) {
        (Some(fault), Some(status)) if status == check.expected => format!("{method} {path} {fault}"),
        (_, status) => {
            let answer = status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
            let said_already = check.ok || check.expected == 200;
            let expected = if said_already { String::new() } else { format!(" (expected {})", check.expected) };
            format!("{method} {path} {answer}{expected}")
        }
    }
}

pub(super) fn elapsed_ms(since: Instant) -> u64 {
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
            checks: vec![Check {
                method: "GET".into(),
                path: "/health".into(),
                status: Some(500),
                expected: 200,
                ok: false,
                fault: Some("answered 500".into()),
            }],
            timings: Timings { build_ms: Some(1), ready_ms: Some(3), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"imageId":"","success":false,"checks":[{"path":"/health","status":500,"expected":200,"ok":false,"fault":"answered 500"}],"timings":{"buildMs":1,"readyMs":3}}"#
        );
    }
}
