//! `cargo xtask watch`: the dev loop. Builds and serves the image as `run`
//! does, then on each change that reaches the image rebuilds, starts the
//! new container and switches to it once it is ready, on the same URL;
//! a failure leaves the old one serving. With `--stack`, serves this
//! checkout's stack as `up` starts it and replaces only its services of
//! the image. One JSON line per cycle on stdout, a summary line at the
//! end (Ctrl-C or SIGTERM).

use anyhow::Result;

use super::{Done, Task, Then};
use crate::{
    cli::{values, Service, ServiceFlags, StackChoice},
    engine::choice::Choice,
    report::Report,
    service::watch::{self, Cycle, Served, WatchSpec},
};

/// Serve the image and rebuild, restart and switch on every change, on one URL
#[derive(Debug, clap::Parser)]
#[command(name = "watch")]
pub struct Flags {
    /// The host port of the URL, kept across restarts [default: the one the stack's file publishes the
    /// service on with --stack, else a free one]
    #[arg(long, value_name = "HOSTPORT", value_parser = values::port)]
    port: Option<u16>,
    /// Poll the files every 200 ms instead of waiting for their events (network file systems)
    #[arg(long)]
    poll: bool,
    #[command(flatten)]
    stack: StackChoice,
    #[command(flatten)]
    service: ServiceFlags,
}

pub struct Watch {
    spec: WatchSpec,
    engine: Choice,
}

/// What the project's files and `flags` say to serve.
fn read_served(flags: ServiceFlags) -> Result<(Served, Choice)> {
    let Service { spec, settings, checks, engine } = flags.read()?;
    Ok((Served { spec, settings, ready: checks.ready, headers: checks.headers }, engine))
}

impl Task for Watch {
    type Flags = Flags;
    type Report = Cycle;
    const LINES: bool = true;

    fn new(flags: Flags) -> Result<Watch> {
        let again = flags.service.clone();
        let (served, engine) = read_served(flags.service)?;
        let stack = flags.stack.into_spec(served.spec.offline, &served.settings)?;
        let reread = Box::new(move || Ok(read_served(again.clone())?.0));
        let spec = WatchSpec::new(served, reread, flags.port, flags.poll, stack);
        Ok(Watch { spec, engine })
    }

    fn run(self) -> Done<Cycle> {
        let engine = self.engine.engine();
        match watch::start(&engine, self.spec) {
            Ok((watching, first)) => {
                let then: Then = Box::new(move |print| {
                    watching.run(print);
                    None
                });
                Done { report: first, then: Some(then) }
            }
            Err(error) => Cycle::failure(format!("{error:#}")).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_scope() {
        let parse = |list: &[&str]| Watch::new(crate::cli::parse("watch", list.iter().map(Into::into))?);
        let watch =
            parse(&["--port", "8090", "--poll", "--context", "/w", "--dockerfile", "/w/docker/Dockerfile"]).unwrap();
        assert_eq!((watch.spec.port, watch.spec.poll), (Some(8090), true));
        assert!(watch.spec.scope.triggers("/w/docker/Dockerfile".into()));
        assert!(watch.spec.scope.triggers("/w/docker/run.env".into()));
        assert!(watch.spec.scope.triggers("/w/.dockerignore".into()), "what reaches the image changes with it");
        assert!(parse(&["--port", "0"]).is_err());
        let stack = parse(&["--stack", "--offline", "--file", "/w/stack.yaml"]).unwrap().spec.stack.unwrap();
        assert_eq!((stack.file.as_str(), stack.offline), ("/w/stack.yaml", true));
        assert!(parse(&[]).unwrap().spec.stack.is_none());
    }
}
