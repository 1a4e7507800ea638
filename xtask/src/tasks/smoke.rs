//! `cargo xtask smoke`: image, run, probe, tear down, in one go, and a
//! report of every check with its timings (the checks themselves are
//! `service::smoke`'s, which `push --smoke` runs too).

use std::time::Duration;

use anyhow::Result;

use super::{Done, Task};
use crate::{
    cli::{request_path, values, NoBuildFlag, Service, ServiceFlags, StackChoice},
    engine::choice::Choice,
    model::checks::Request,
    report::ImageReport,
    service::{
        smoke::{Checks, SmokeReport},
        stack::{self, StackSpec},
        READY_TIMEOUT,
    },
    sys::mask,
};

/// Build, run, GET each path, tear down; report every check and its timings
#[derive(Debug, clap::Parser)]
#[command(name = "smoke")]
pub struct Flags {
    #[command(flatten)]
    no_build: NoBuildFlag,
    /// GET it, expecting 200; repeatable [default: the health path and /]
    #[arg(long, value_name = "/PATH", value_parser = request_path)]
    path: Vec<String>,
    /// GET it, expecting STATUS, such as /orders/999=404; repeatable
    #[arg(long, value_name = "/PATH=STATUS", value_parser = values::expectation)]
    expect: Vec<(String, u16)>,
    /// Sent with every GET, its value never printed; repeatable
    #[arg(long, value_name = "NAME: VALUE", value_parser = values::header)]
    header: Vec<(String, String)>,
    #[arg(long, value_name = "SECS", value_parser = values::seconds,
          help = format!("How long the service may take to answer [default: {}]", READY_TIMEOUT.as_secs()))]
    timeout: Option<Duration>,
    #[command(flatten)]
    stack: StackChoice,
    #[command(flatten)]
    service: ServiceFlags,
}

pub struct Smoke {
    checks: Checks,
    /// `--stack`: the stack to check the image in.
    stack: Option<StackSpec>,
    engine: Choice,
}

impl Task for Smoke {
    type Flags = Flags;
    type Report = SmokeReport;

    fn new(flags: Flags) -> Result<Smoke> {
        let Service { spec, settings, checks: project, engine } = flags.service.read()?;
        let timeout = flags.timeout.unwrap_or(READY_TIMEOUT);
        flags.header.iter().for_each(|(_, value)| mask::secret(value));
        // The flags' paths replace the file's checks; their headers join
        // the file's, and win on a name they share.
        let given = flags.path.into_iter().map(|path| (path, 200)).chain(flags.expect);
        let given: Vec<Request> = given.map(|(path, status)| Request::get(path, status)).collect();
        let requests = if given.is_empty() { project.requests } else { given };
        let mut headers = project.headers;
        headers.retain(|(name, _)| !flags.header.iter().any(|(given, _)| given.eq_ignore_ascii_case(name)));
        headers.extend(flags.header);
        let build = flags.no_build.build();
        let stack = flags.stack.into_spec(spec.offline, &settings)?;
        let checks =
            Checks { spec, build, requests, headers, ready: project.ready, settings, timeout, stack: project.stack };
        Ok(Smoke { checks, stack, engine })
    }

    fn run(self) -> Done<SmokeReport> {
        let mut report = SmokeReport {
            image: ImageReport { tag: Some(self.checks.spec.tag.clone()), ..Default::default() },
            ..Default::default()
        };
        let engine = self.engine.engine();
        let outcome = match &self.stack {
            Some(stack) => self.checks.run_stack(&engine, stack, &mut report),
            None => self.checks.run(&engine, &mut report).map_err(|error| {
                let said = format!("{error:#}");
                match stack::needs_stack(&engine, &self.checks.spec.context, &self.checks.spec.tag, &said) {
                    Some(sentence) => anyhow::anyhow!("{sentence} {said}"),
                    None => error,
                }
            }),
        };
        report.image.settle(outcome);
        report.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Checks> {
        Ok(Smoke::new(crate::cli::parse("smoke", list.iter().map(Into::into))?)?.checks)
    }

    #[test]
    fn defaults_and_flags() {
        let paths = |smoke: &Checks| {
            smoke.requests.iter().map(|r| format!("{}={}", r.path, r.status)).collect::<Vec<_>>().join(" ")
        };
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
            &["--timeout", "1e300"],
        ] {
            assert!(parse(bad).unwrap_err().downcast_ref::<crate::cli::UsageError>().is_some(), "{bad:?}");
        }
    }
}
