//! The stack, started service by service through Compose: each one as
//! soon as what it depends on is met, each one proven ready by the tool's
//! own probe every 100 ms (`model::stack::Readiness`) rather than by the
//! engine's healthcheck interval, which Docker 20.10 runs first only after
//! a whole interval and podman without systemd never runs.

mod project;
mod smoke;

pub use self::project::{checkout_name, compose_file_in, needs_stack, Owner, StackSpec, API_IMAGE, STACK_TIMEOUT};

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{SocketAddr, ToSocketAddrs},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::{
    engine::{
        compose::{Project, StackContainer},
        Engine,
    },
    model::{
        service_log,
        stack::{Condition, Readiness, Stack},
    },
    sys::{millis, probe, text, wait::Wait},
};

/// How many log lines of a failed service the report carries.
const LOG_LINES: usize = 20;
/// How often each service that is not ready yet is probed.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Takes down, with their data, the stacks of `smoke --stack` runs that
/// were killed (a SIGKILL leaves them behind).
pub fn sweep_abandoned(engine: &Engine) -> Result<()> {
    for name in engine.abandoned_stacks(project::RUN_PREFIX)? {
        eprintln!("Removing the stack {name}, left by a run that was killed.");
        Project::by_name(engine, name)?.down(true)?;
    }
    Ok(())
}

/// A service of the stack, as the report gives it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The engine's word: `running`, `exited`; `not started` before it is.
    pub state: String,
    /// The engine's healthcheck status, where the service has one: the
    /// tool does not wait for it, so `starting` is usual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// From its start to its readiness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<u64>,
    /// Its last log lines, when it is the one that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

impl ServiceState {
    /// Where its published port is reached from here.
    pub fn address(&self) -> Option<SocketAddr> {
        self.url.as_deref()?.trim_start_matches("http://").to_socket_addrs().ok()?.next()
    }
}

/// The services as a person reads them: one line each.
pub fn table(services: &[ServiceState]) -> String {
    let mut table = String::new();
    for s in services {
        let ready = s.ready_ms.map_or_else(|| "not ready".to_string(), |ms| format!("ready in {ms} ms"));
        let url = s.url.as_deref().map_or(String::new(), |url| format!("  {url}"));
        table += &format!("  {:<12} {:<12} {ready}{url}\n", s.name, s.state);
    }
    table
}

/// What one probe found.
enum Probed {
    Ready,
    NotYet,
    Failed(String),
}

/// Starts every service of `stack` in `project`, each once its
/// dependencies are met, and waits until each is ready, within `timeout`.
/// `services` is the report, kept current, so that a failure reports it
/// too. With `pull` false, a missing image is not pulled.
pub fn bring_up(
    project: &Project,
    stack: &Stack,
    pull: bool,
    timeout: Duration,
    services: &mut Vec<ServiceState>,
) -> Result<()> {
    *services = stack
        .services
        .iter()
        .map(|s| ServiceState { name: s.name.clone(), state: "not started".into(), ..Default::default() })
        .collect();
    // What each service's readiness is follows from the model alone.
    let readiness: BTreeMap<&str, Readiness> =
        stack.services.iter().map(|s| (s.name.as_str(), stack.readiness(s))).collect();
    let mut started: BTreeMap<String, Instant> = BTreeMap::new();
    let mut ready: BTreeSet<String> = BTreeSet::new();
    let all_ready = Wait::new(timeout, PROBE_EVERY).until(|_| {
        let names: BTreeSet<String> = started.keys().cloned().collect();
        let met = |name: &str, condition| match condition {
            Condition::Started => names.contains(name),
            Condition::Healthy | Condition::Completed => ready.contains(name),
        };
        let now: Vec<&str> = stack.startable(&names, met);
        if !now.is_empty() {
            eprintln!("Starting {}.", now.join(", "));
            project.up(&now, pull).with_context(|| format!("Compose could not start {}", now.join(", ")))?;
            started.extend(now.iter().map(|name| (name.to_string(), Instant::now())));
        }
        let containers = project.ps()?;
        let waiting: Vec<&str> = started.keys().filter(|name| !ready.contains(*name)).map(String::as_str).collect();
        let probed: Vec<(&str, Probed)> = thread::scope(|scope| {
            let probes: Vec<_> = waiting
                .iter()
                .map(|&name| {
                    let readiness = &readiness[name];
                    let container = containers.iter().find(|c| c.service == name);
                    (name, scope.spawn(move || probe(project, readiness, container)))
                })
                .collect();
            probes.into_iter().map(|(name, probe)| (name, probe.join().unwrap_or(Probed::NotYet))).collect()
        });
        record(project, &containers, services);
        for (name, outcome) in probed {
            let state = services.iter_mut().find(|s| s.name == name).expect("every service has a state");
            match outcome {
                Probed::Ready => {
                    state.ready = true;
                    state.ready_ms = Some(millis(started[name].elapsed()) as u64);
                    eprintln!("{name} is ready ({} ms).", state.ready_ms.unwrap_or(0));
                    ready.insert(name.to_string());
                }
                Probed::NotYet => {}
                Probed::Failed(why) => bail!(failed(project, state, &why)),
            }
        }
        Ok((ready.len() == stack.services.len()).then_some(()))
    })?;
    if all_ready.is_none() {
        // The one to blame started and never got ready; those that wait on
        // it never started, and are named after it.
        let waiting: Vec<String> =
            services.iter().filter(|s| s.state == "not started").map(|s| s.name.clone()).collect();
        let seconds = timeout.as_secs();
        // The time may run out just as the last one got ready, before what
        // waits on it started: then that one is late.
        let at = services.iter().position(|s| !s.ready && s.state != "not started");
        let at = at.or_else(|| services.iter().position(|s| !s.ready)).expect("a service is not ready");
        let late = &mut services[at];
        let mut why = match late.state.as_str() {
            "not started" => format!("never started within {seconds} s"),
            _ => format!(
                "was not ready within {seconds} s (the tool waited for {})",
                readiness[late.name.as_str()].described()
            ),
        };
        let others: Vec<&String> = waiting.iter().filter(|name| **name != late.name).collect();
        if !others.is_empty() {
            let others: Vec<&str> = others.iter().map(|name| name.as_str()).collect();
            why += &format!(", and {} never started: what they wait for was not ready", others.join(", "));
        }
        bail!(failed(project, late, &why));
    }
    Ok(())
}

/// The report's view of each container.
fn record(project: &Project, containers: &[StackContainer], services: &mut [ServiceState]) {
    for state in services.iter_mut() {
        let Some(container) = containers.iter().find(|c| c.service == state.name) else { continue };
        state.container = Some(container.name.clone());
        state.state = container.state.clone();
        state.health = Some(container.health.clone()).filter(|h| !h.is_empty());
        let published = container.publishers.iter().flatten().find(|p| p.published_port != 0);
        state.url = published.map(|p| format!("http://{}:{}", project.engine().published_host(), p.published_port));
    }
}

/// "service worker exited with 1: ModuleNotFoundError: …", with its log
/// tail kept in the report.
fn failed(project: &Project, state: &mut ServiceState, why: &str) -> String {
    let read = || state.container.as_deref().map(|c| project.engine().log_tail(c, LOG_LINES)).unwrap_or_default();
    let mut log = read();
    // podman may report the exit before its log holds the last words.
    for _ in 0..10 {
        if !log.trim().is_empty() || state.container.is_none() {
            break;
        }
        thread::sleep(PROBE_EVERY);
        log = read();
    }
    state.log_tail = log.lines().filter(|line| !line.trim().is_empty()).map(str::to_string).collect();
    let said = service_log::explain(&log, 0).unwrap_or_else(|| text::last_lines(&log, 2).replace('\n', " "));
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    format!("Service {} {why}{said}", state.name)
}

/// One look at a service that is not ready yet.
fn probe(project: &Project, readiness: &Readiness, container: Option<&StackContainer>) -> Probed {
    let Some(container) = container else { return Probed::NotYet };
    let exited = matches!(container.state.as_str(), "exited" | "dead");
    match readiness {
        Readiness::Completed if exited && container.exit_code == 0 => return Probed::Ready,
        Readiness::Completed if exited => {
            return Probed::Failed(format!("failed with exit code {}", container.exit_code))
        }
        Readiness::Completed => return Probed::NotYet,
        _ if exited => return Probed::Failed(format!("exited with {}", container.exit_code)),
        _ if container.state != "running" => return Probed::NotYet,
        _ => {}
    }
    let ready = match readiness {
        Readiness::Http { port, path } => container.published(*port).is_some_and(|published| {
            let address =
                (project.engine().published_host(), published).to_socket_addrs().ok().and_then(|mut a| a.next());
            address.is_some_and(|address: SocketAddr| {
                probe::get(address, path, &[], Duration::from_secs(2)).is_ok_and(|s| s == 200)
            })
        }),
        Readiness::Exec { argv, expect } => {
            let (ok, said) = project.exec(&container.name, argv);
            ok && expect.as_ref().is_none_or(|expect| said.lines().any(|line| line.trim() == expect))
        }
        Readiness::LogLine(parts) => {
            let log = project.engine().log_tail(&container.name, 1000);
            log.lines().any(|line| parts.iter().all(|part| line.contains(part.as_str())))
        }
        Readiness::Running | Readiness::Completed => true,
    };
    if ready {
        Probed::Ready
    } else {
        Probed::NotYet
    }
}
