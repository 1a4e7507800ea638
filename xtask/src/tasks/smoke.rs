//! `cargo xtask smoke`: image, run, probe, tear down, in one go, and a
//! report of every check with its timings. The container never outlives
//! the run: success, failure, Ctrl-C and SIGTERM all remove it.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;
use xshell::Shell;

use super::{Done, Task};
use crate::{
    cli::{accept_setting, request_path, usage, with_project_settings, Args, ImageFlags},
    engine::{
        build::BuildSpec,
        container::{Settings, Spec, Stopped},
        Engine,
    },
    report::{ImageReport, Report},
    service::{self, contract::Contract, READY_TIMEOUT},
    sys::{
        millis,
        probe::{self, Header},
        signals,
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

impl Report for SmokeReport {
    fn success(&self) -> bool {
        self.image.success
    }

    fn failure(message: String) -> SmokeReport {
        SmokeReport { image: ImageReport::failure(message), ..SmokeReport::default() }
    }
}

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

#[derive(Debug)]
pub struct Smoke {
    spec: BuildSpec,
    build: bool,
    /// Each path, and the status it must answer. None given: the health
    /// path and `/`, each 200.
    paths: Vec<(String, u16)>,
    headers: Vec<Header>,
    settings: Settings,
    timeout: Duration,
}

impl Task for Smoke {
    type Report = SmokeReport;

    fn parse(args: &mut Args) -> Result<Smoke> {
        let (mut image, mut build, mut paths, mut timeout) = (ImageFlags::default(), true, Vec::new(), READY_TIMEOUT);
        let (mut headers, mut settings) = (Vec::new(), Settings::default());
        while let Some(given) = args.next()? {
            match given.name() {
                "--no-build" => build = false,
                "--path" => paths.push((request_path("--path", given.value())?, 200)),
                "--expect" => paths.push(parse_expect(given.value())?),
                "--header" => headers.push(parse_header(given.value())?),
                "--timeout" => timeout = parse_timeout(given.value())?,
                _ if accept_setting(&mut settings, &given)? => {}
                _ => image.accept(&given)?,
            }
        }
        let spec = image.into_spec()?;
        let settings = with_project_settings(settings, &spec.dockerfile);
        Ok(Smoke { spec, build, paths, headers, settings, timeout })
    }

    fn run(self, _sh: &Shell, engine: &Engine) -> Done<SmokeReport> {
        let mut report = SmokeReport {
            image: ImageReport { tag: Some(self.spec.tag.clone()), ..Default::default() },
            ..Default::default()
        };
        let outcome = self.check(engine, &mut report);
        report.image.settle(outcome);
        report.into()
    }
}

impl Smoke {
    /// The default checks of `spec`'s image, with `settings`: for `push --smoke`.
    pub(super) fn of(spec: BuildSpec, build: bool, settings: Settings) -> Smoke {
        Smoke { spec, build, paths: Vec::new(), headers: Vec::new(), settings, timeout: READY_TIMEOUT }
    }

    /// Builds (or takes) the image, checks it, and moves the tag only when it passed.
    pub(super) fn check(&self, engine: &Engine, report: &mut SmokeReport) -> Result<String> {
        engine.sweep_leftovers()?;
        let clock = Instant::now();
        let image = service::obtain(engine, &self.spec, self.build)?;
        report.image = image.report().clone();
        report.timings.build_ms = Some(elapsed_ms(clock));
        let passed = self.probe(engine, &image.contract(&self.spec), report).map_err(|e| image.reject(e))?;
        report.image = image.accept()?;
        Ok(passed)
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
        report.url = Some(service::url(port));
        service::wait_ready(&container, port, &contract.health, &self.headers, self.timeout)?;
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
    format!("GET {} {answer}{expected}", check.path)
}

/// `--expect /PATH=STATUS`.
fn parse_expect(value: &str) -> Result<(String, u16)> {
    let refused = || usage(format!("`--expect {value}` must have the form /PATH=STATUS, such as /orders/999=404"));
    let (path, status) = value.rsplit_once('=').ok_or_else(refused)?;
    let status = status.parse::<u16>().ok().filter(|s| (100..=599).contains(s)).ok_or_else(refused)?;
    Ok((request_path("--expect", path)?, status))
}

/// `--header 'Name: value'`. The value may be a secret: no message shows it.
fn parse_header(value: &str) -> Result<Header> {
    let refused = |why: &str| usage(format!("a `--header` must have the form 'Name: value': {why}"));
    let (name, header_value) = value.split_once(':').ok_or_else(|| refused("there is no `:`"))?;
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(refused("the name must be letters, digits and `-`"));
    }
    if header_value.chars().any(char::is_control) {
        return Err(refused(&format!("the value of `{name}` holds a control character")));
    }
    Ok((name.to_string(), header_value.trim().to_string()))
}

fn elapsed_ms(since: Instant) -> u64 {
    millis(since.elapsed()) as u64
}

/// The longest `--timeout`: a day.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

fn parse_timeout(value: &str) -> Result<Duration> {
    match value.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= MAX_TIMEOUT_SECS => Ok(Duration::from_secs_f64(secs)),
        _ => {
            Err(usage(format!("`--timeout {value}` is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Smoke> {
        Smoke::parse(&mut Args::of("smoke", list))
    }

    #[test]
    fn a_service_killed_at_stop_is_named() {
        let stopped = |exit_code| Stopped { took: Duration::from_millis(10_020), exit_code };
        assert_eq!(stop_said(&stopped(Some(0))), "");
        assert_eq!(stop_said(&stopped(None)), "");
        let said = stop_said(&stopped(Some(137)));
        assert!(said.starts_with(" The service did not end on SIGTERM: the engine killed it after 10 s."), "{said}");
    }

    #[test]
    fn defaults_and_flags() {
        let paths = |smoke: &Smoke| smoke.paths.iter().map(|(p, s)| format!("{p}={s}")).collect::<Vec<_>>().join(" ");
        let smoke = parse(&[]).unwrap();
        assert_eq!((paths(&smoke), smoke.timeout, smoke.build), (String::new(), Duration::from_secs(30), true));
        let smoke = parse(&["--no-build", "--path", "/a", "--expect=/orders/999=404", "--timeout", "2.5"]).unwrap();
        assert_eq!(
            (paths(&smoke), smoke.timeout, smoke.build),
            ("/a=200 /orders/999=404".to_string(), Duration::from_millis(2500), false)
        );
        assert_eq!(paths(&parse(&["--path", "/with space"]).unwrap()), "/with%20space=200");
        let smoke = parse(&["--header", "X-Token:  s3cret ", "--env", "A=1"]).unwrap();
        assert_eq!((smoke.headers, smoke.settings.env["A"].as_str()), (vec![("X-Token".into(), "s3cret".into())], "1"));
        for bad in
            [&["--header", "X Token: s3cret"][..], &["--header", "X-Token: s3\r\ncret"], &["--header", "nocolon"]]
        {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("--header") && !error.contains("s3"), "a header value is never shown: {error}");
        }
        for bad in [
            &["--timeout", "0"][..],
            &["--timeout", "soon"],
            &["--timeout", "1e30"],
            &["--timeout", "inf"],
            &["--timeout", "NaN"],
            &["--path", "health"],
            &["--path", "/health\r\nX-Injected: 1"],
            &["--path", "/a\tb"],
            &["--expect", "/x"],
            &["--expect", "/x=99"],
            &["--expect", "x=404"],
            &["--port", "1"],
        ] {
            assert!(parse(bad).unwrap_err().downcast_ref::<crate::cli::UsageError>().is_some(), "{bad:?}");
        }
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
