//! `cargo xtask up`: builds the API image, starts this checkout's stack of
//! the Compose file service by service on the build, and reports once
//! every service is ready; only then does the tag move to the build.
//! Detached by default; `--attach` follows the stack's logs until Ctrl-C,
//! then stops it. Its data stays in its volumes until `down --volumes`.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::{Done, Task, Then};
use crate::{
    cli::{AttachFlag, NoBuildFlag, Service, ServiceFlags, StackFlags},
    engine::{build::BuildSpec, choice::Choice, compose::Project},
    report::{extends_image, ImageReport},
    service::{
        self,
        stack::{self, bring_up, Owner, ServiceState, StackSpec, API_IMAGE},
    },
    sys::{millis, process},
};

/// The `image` report, plus the stack and each of its services.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpReport {
    #[serde(flatten)]
    pub image: ImageReport,
    /// The Compose project: this checkout's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// From the first service's start until every one was ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceState>,
}

extends_image!(UpReport, |report| stack::table(&report.services));

/// Build the API image, start the stack, report once every service is ready
#[derive(Debug, clap::Parser)]
#[command(name = "up")]
pub struct Flags {
    #[command(flatten)]
    no_build: NoBuildFlag,
    #[command(flatten)]
    attach: AttachFlag,
    #[command(flatten)]
    stack: StackFlags,
    #[command(flatten)]
    service: ServiceFlags,
}

pub struct Up {
    spec: BuildSpec,
    build: bool,
    stack: StackSpec,
    attach: bool,
    engine: Choice,
}

impl Task for Up {
    type Flags = Flags;
    type Report = UpReport;

    fn new(flags: Flags) -> Result<Up> {
        let Service { spec, settings, engine, .. } = flags.service.read()?;
        let stack = flags.stack.into_spec(spec.offline, &settings);
        Ok(Up { spec, build: flags.no_build.build(), stack, attach: flags.attach.attach, engine })
    }

    fn run(self) -> Done<UpReport> {
        let mut report = UpReport {
            image: ImageReport { tag: Some(self.spec.tag.clone()), ..Default::default() },
            ..Default::default()
        };
        match self.start(&mut report) {
            Ok((compose, message)) => {
                report.image.settle(Ok(message));
                let then: Option<Then> = match self.attach {
                    true => Some(Box::new(move |_| {
                        follow_logs(compose);
                        None
                    })),
                    false => None,
                };
                Done { report, then }
            }
            Err(error) => {
                report.image.settle(Err(error));
                report.into()
            }
        }
    }
}

impl Up {
    fn start(&self, report: &mut UpReport) -> Result<(Project, String)> {
        let engine = self.engine.engine();
        stack::sweep_abandoned(&engine)?;
        // The file first: a mistake in it costs no build.
        let (mut compose, model) = self.stack.open(&engine, Owner::Checkout, &self.spec.tag)?;
        report.project = Some(compose.name().to_string());
        // Not `image`'s startable check: the stack's services start on the
        // build anyway, and their readiness proves more, so `up` does not
        // pay twice.
        let image = service::obtain(&engine, &self.spec, self.build)?;
        report.image = image.report().clone();
        // The build, whatever a later build does to the tag.
        compose.set(API_IMAGE, &report.image.image_id);
        let clock = Instant::now();
        if let Err(error) = bring_up(&compose, &model, !self.stack.offline, self.stack.timeout, &mut report.services) {
            eprintln!("Stopping the stack; its data stays.");
            // Down first: its containers hold the build.
            let _ = compose.down(false);
            return Err(image.reject(error));
        }
        report.image = image.accept()?;
        let ready = clock.elapsed();
        report.ready_ms = Some(millis(ready) as u64);
        let urls: Vec<String> =
            report.services.iter().filter_map(|s| Some(format!("{} at {}", s.name, s.url.as_ref()?))).collect();
        let urls = if urls.is_empty() { String::new() } else { format!("; {}", urls.join(", ")) };
        let how = if self.attach { "following its logs until Ctrl-C" } else { "stop it with `cargo xtask down`" };
        let message = format!(
            "The stack {} is up on {}: {} services ready in {:.1} s{urls}; {how}.",
            compose.name(),
            engine.name(),
            report.services.len(),
            ready.as_secs_f64()
        );
        Ok((compose, message))
    }
}

/// Streams the stack's logs to stderr until a signal comes, then stops
/// the stack, keeping its data.
fn follow_logs(compose: Project) {
    match compose.follow_logs() {
        Ok(follower) => process::follow_until_signal(follower),
        Err(error) => return eprintln!("{error:#}"),
    }
    eprintln!("Stopping the stack {}; its data stays.", compose.name());
    if let Err(error) = compose.down(false) {
        eprintln!("{error:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Up> {
        Up::new(crate::cli::parse("up", list.iter().map(Into::into))?)
    }

    #[test]
    fn flags_are_read() {
        let up =
            parse(&["--attach", "--offline", "--env", "API_PORT=9000", "--stack-timeout", "5", "--file", "/s/c.yaml"])
                .unwrap();
        assert!(up.attach && up.build && up.stack.offline);
        assert_eq!(
            (up.stack.variables["API_PORT"].as_str(), up.stack.timeout.as_secs(), up.stack.file.as_str()),
            ("9000", 5, "/s/c.yaml")
        );
        assert!(!parse(&["--no-build"]).unwrap().build);
        assert!(parse(&["--stack-timeout", "0"]).is_err());
    }
}
