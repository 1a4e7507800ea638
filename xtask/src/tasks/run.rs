//! `cargo xtask run`: builds the image (from the cache; `--no-build` takes
//! the one the tag names), starts a container from it and reports it once
//! its health path (`--health`, default `/health`) answers 200. The tag moves to a new build only then.
//! Detached by default, for CI; `--attach` follows the logs until Ctrl-C,
//! then removes the container.

use std::net::SocketAddr;

use anyhow::Result;
use serde::Serialize;

use super::{Done, Task, Then};
use crate::{
    cli::{values, AttachFlag, NoBuildFlag, ProjectChecks, Service, ServiceFlags},
    engine::{
        build::BuildSpec,
        choice::Choice,
        container::{Container, Settings, Spec},
        Engine,
    },
    report::{extends_image, ImageReport},
    service::{self, contract::Contract},
    sys::{process, signals},
};

/// The `image` report, plus where the service runs.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    #[serde(flatten)]
    pub image: ImageReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

extends_image!(RunReport);

/// Build the image (cached), start it; report its URL once its health path answers, and only then tag it
#[derive(Debug, clap::Parser)]
#[command(name = "run")]
pub struct Flags {
    #[command(flatten)]
    no_build: NoBuildFlag,
    /// Publish on this port of 127.0.0.1 [default: a free one]
    #[arg(long, value_name = "HOSTPORT", value_parser = values::port)]
    port: Option<u16>,
    #[command(flatten)]
    attach: AttachFlag,
    #[command(flatten)]
    service: ServiceFlags,
}

#[derive(Debug)]
pub struct Run {
    spec: BuildSpec,
    build: bool,
    port: Option<u16>,
    settings: Settings,
    /// The project's readiness path and headers.
    checks: ProjectChecks,
    attach: bool,
    engine: Choice,
}

impl Task for Run {
    type Flags = Flags;
    type Report = RunReport;

    fn new(flags: Flags) -> Result<Run> {
        let Service { spec, settings, checks, engine } = flags.service.read()?;
        let (build, port, attach) = (flags.no_build.build(), flags.port, flags.attach.attach);
        Ok(Run { spec, build, port, settings, checks, attach, engine })
    }

    fn run(self) -> Done<RunReport> {
        let engine = &self.engine.engine();
        let mut report = RunReport {
            image: ImageReport { tag: Some(self.spec.tag.clone()), ..Default::default() },
            ..Default::default()
        };
        match self.start(engine, &mut report) {
            Ok((container, message)) => {
                report.image.settle(Ok(message));
                let then: Then = match self.attach {
                    true => Box::new(move |_| follow_logs(container)),
                    false => Box::new(|_| {
                        container.keep();
                        None
                    }),
                };
                Done { report, then: Some(then) }
            }
            Err(error) => {
                report.image.settle(Err(error));
                report.into()
            }
        }
    }
}

impl Run {
    fn start(&self, engine: &Engine, report: &mut RunReport) -> Result<(Container, String)> {
        engine.sweep_leftovers()?;
        let image = service::obtain(engine, &self.spec, self.build)?;
        report.image = image.report().clone();
        let contract = image.contract(&self.spec);
        let (container, port) = self.serve(engine, &report.image.image_id, &contract).map_err(|e| image.reject(e))?;
        report.image = image.accept()?;
        report.container_id = Some(container.id.clone());
        report.url = Some(service::url(port));
        let how = if self.attach { "following its logs until Ctrl-C" } else { "stop it with `cargo xtask stop`" };
        let message = format!(
            "{} serves on {} as {} container {}; {how}.",
            self.spec.tag,
            service::url(port),
            engine.name(),
            container.name
        );
        Ok((container, message))
    }

    /// Starts image `id` and waits until its health path answers 200.
    fn serve(&self, engine: &Engine, id: &str, contract: &Contract) -> Result<(Container, SocketAddr)> {
        signals::check()?;
        let spec = Spec {
            tag: Some(&self.spec.tag),
            host_port: self.port,
            settings: self.settings.clone(),
            owned: self.attach,
            ..Spec::owned("run", id, contract.port)
        };
        let container = engine.start(&spec)?;
        let port = container.endpoint()?;
        let ready = self.checks.ready.as_deref().unwrap_or(&contract.health);
        service::wait_serving(&container, port, ready, self.checks.ready.is_some(), &self.checks.headers)?;
        Ok((container, port))
    }
}

/// Streams the service's log to stderr until a signal comes or the
/// container stops; the container is removed when `container` drops.
fn follow_logs(container: Container) -> Option<u8> {
    match container.follow_logs() {
        Ok(follower) => process::follow_until_signal(follower),
        Err(error) => {
            eprintln!("{error:#}");
            return None;
        }
    }
    eprintln!("Stopping and removing {}.", container.name);
    let _ = container.stop();
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::UsageError;

    fn parse(list: &[&str]) -> Result<Run> {
        Run::new(crate::cli::parse("run", list.iter().map(Into::into))?)
    }

    #[test]
    fn flags_are_read() {
        let run = parse(&["--port", "8081", "--env", "A=1", "--attach", "--tag", "t:1"]).unwrap();
        assert_eq!(
            (run.port, run.settings.env["A"].as_str(), run.attach, run.spec.tag.as_str(), run.build),
            (Some(8081), "1", true, "t:1", true)
        );
        assert!(!parse(&["--no-build"]).unwrap().build);
        for bad in [&["--port", "0"][..], &["--port", "http"], &["--env", "NOEQUALS"], &["--nope"]] {
            assert!(parse(bad).unwrap_err().downcast_ref::<UsageError>().is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_report_adds_two_fields_to_the_image_report() {
        let report = RunReport {
            image: ImageReport { image_id: "sha256:a".into(), success: true, ..Default::default() },
            container_id: Some("c".into()),
            url: Some("http://127.0.0.1:1".into()),
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"imageId":"sha256:a","success":true,"containerId":"c","url":"http://127.0.0.1:1"}"#
        );
    }
}
