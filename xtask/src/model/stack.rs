//! The stack as Compose resolves it (`docker compose config --format
//! json`): its services, what each waits for, and how the tool knows that
//! each is ready. Compose's own healthchecks run only every `interval`
//! (and not at all on podman without systemd), so the tool probes each
//! service itself, in the way that is right for what the service is.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// What a service waits for of another before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    /// Its readiness, which the tool probes (Compose: its healthcheck).
    Healthy,
    /// A one-shot service that ended with 0.
    Completed,
}

/// How the tool tells that a service is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// A one-shot service: it exited 0.
    Completed,
    /// GET `path` on the host port that publishes container port `port` answers 200.
    Http { port: u16, path: String },
    /// `argv` run in the container exits 0, and prints `expect` when given.
    Exec { argv: Vec<String>, expect: Option<String> },
    /// A line of its log holds every one of these.
    LogLine(Vec<String>),
    /// It runs; nothing better is known.
    Running,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    /// Compose builds its image (`build:`).
    pub builds: bool,
    pub command: Vec<String>,
    pub depends_on: Vec<(String, Condition)>,
    /// The healthcheck's test, as written: `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub healthcheck: Option<Vec<String>>,
    /// The container ports it publishes.
    pub ports: Vec<u16>,
    /// The host ports the file publishes them on, where it names them.
    pub host_ports: Vec<u16>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// By name.
    pub services: Vec<Service>,
}

#[derive(Deserialize)]
struct RawModel {
    #[serde(default)]
    services: BTreeMap<String, RawService>,
}

#[derive(Deserialize)]
struct RawService {
    image: Option<String>,
    build: Option<serde_json::Value>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    depends_on: BTreeMap<String, RawDependency>,
    healthcheck: Option<RawHealthcheck>,
    #[serde(default)]
    ports: Vec<RawPort>,
    #[serde(default)]
    environment: BTreeMap<String, Option<String>>,
}

#[derive(Deserialize)]
struct RawDependency {
    #[serde(default)]
    condition: Option<String>,
}

#[derive(Deserialize)]
struct RawHealthcheck {
    #[serde(default)]
    test: Vec<String>,
    #[serde(default)]
    disable: bool,
}

#[derive(Deserialize)]
struct RawPort {
    target: u16,
    /// A string in Compose's model ("8000"); absent for a port of its choice.
    #[serde(default)]
    published: Option<serde_json::Value>,
}

impl RawPort {
    fn host_port(&self) -> Option<u16> {
        match self.published.as_ref()? {
            serde_json::Value::String(port) => port.parse().ok(),
            serde_json::Value::Number(port) => port.as_u64()?.try_into().ok(),
            _ => None,
        }
    }
}

impl Stack {
    /// The stack that Compose's resolved model `json` describes.
    pub fn from_json(json: &[u8]) -> Result<Stack> {
        let raw: RawModel = serde_json::from_slice(json).context("Compose's model of the stack is not what it was")?;
        let mut services = Vec::new();
        for (name, raw) in raw.services {
            let mut depends_on = Vec::new();
            for (other, dependency) in raw.depends_on {
                let condition = match dependency.condition.as_deref() {
                    None | Some("service_started") => Condition::Started,
                    Some("service_healthy") => Condition::Healthy,
                    Some("service_completed_successfully") => Condition::Completed,
                    Some(other) => bail!("service {name} waits on an unknown condition {other}"),
                };
                depends_on.push((other, condition));
            }
            let healthcheck = raw.healthcheck.filter(|h| !h.disable && !h.test.is_empty() && h.test[0] != "NONE");
            services.push(Service {
                name,
                image: raw.image,
                builds: raw.build.is_some(),
                command: raw.command.unwrap_or_default(),
                depends_on,
                healthcheck: healthcheck.map(|h| h.test),
                host_ports: raw.ports.iter().filter_map(RawPort::host_port).collect(),
                ports: raw.ports.into_iter().map(|p| p.target).collect(),
                environment: raw.environment.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect(),
            });
        }
        let stack = Stack { services };
        stack.check_order()?;
        Ok(stack)
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The one-shot services: those that another waits on to complete.
    pub fn one_shots(&self) -> BTreeSet<&str> {
        let waited = self.services.iter().flat_map(|s| &s.depends_on);
        waited.filter(|(_, c)| *c == Condition::Completed).map(|(name, _)| name.as_str()).collect()
    }

    /// The service that runs `image` (the image the tool builds) and
    /// publishes a port: where the checks go.
    pub fn entry(&self, image: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.runs(image) && !s.ports.is_empty())
    }

    /// The services that run `image` (or that Compose builds: the image
    /// the tool builds for them), waiting only on each other: what a new
    /// build replaces while the others go on.
    pub fn running(&self, image: &str) -> Stack {
        let names: BTreeSet<&str> = self.services.iter().filter(|s| s.runs(image)).map(|s| s.name.as_str()).collect();
        let services = self.services.iter().filter(|s| names.contains(s.name.as_str())).map(|s| {
            let mut service = s.clone();
            service.depends_on.retain(|(other, _)| names.contains(other.as_str()));
            service
        });
        Stack { services: services.collect() }
    }

    /// How the tool tells that `service` is ready.
    pub fn readiness(&self, service: &Service) -> Readiness {
        if self.one_shots().contains(service.name.as_str()) {
            return Readiness::Completed;
        }
        service.readiness()
    }

    /// Fails on a dependency that names no service, or on a cycle, which
    /// would leave the stack waiting forever.
    fn check_order(&self) -> Result<()> {
        for service in &self.services {
            for (other, _) in &service.depends_on {
                if self.service(other).is_none() {
                    bail!("service {} depends on {other}, which is not a service of the stack", service.name);
                }
            }
        }
        let mut done: BTreeSet<&str> = BTreeSet::new();
        while done.len() < self.services.len() {
            let next: Vec<&str> = self
                .services
                .iter()
                .filter(|s| !done.contains(s.name.as_str()))
                .filter(|s| s.depends_on.iter().all(|(other, _)| done.contains(other.as_str())))
                .map(|s| s.name.as_str())
                .collect();
            if next.is_empty() {
                let left: Vec<&str> =
                    self.services.iter().map(|s| s.name.as_str()).filter(|n| !done.contains(n)).collect();
                bail!("the services {} depend on each other in a cycle, so none can start", left.join(", "));
            }
            done.extend(next);
        }
        Ok(())
    }

    /// The services that may start now: not started yet, and each of
    /// their dependencies `met` as they ask.
    pub fn startable<'a>(&'a self, started: &BTreeSet<String>, met: impl Fn(&str, Condition) -> bool) -> Vec<&'a str> {
        let waiting = self.services.iter().filter(|s| !started.contains(&s.name));
        let free = waiting.filter(|s| s.depends_on.iter().all(|(other, condition)| met(other, *condition)));
        free.map(|s| s.name.as_str()).collect()
    }

    /// A Compose override for a stack of one run: every service carries
    /// `labels` (its owner), and every published container port is
    /// published on a free port of `host` instead (loopback for an engine
    /// here), so that a second stack of the same file never meets the
    /// first on a host port.
    pub fn isolated_override(&self, labels: &[(&str, String)], host: &str) -> String {
        let mut yaml = String::from("services:\n");
        for service in &self.services {
            yaml += &format!("  {}:\n    labels:\n", quoted(&service.name));
            for (key, value) in labels {
                yaml += &format!("      {}: {}\n", quoted(key), quoted(value));
            }
            yaml += &service.republished(host);
        }
        yaml
    }

    /// A Compose override that gives every service of `image` the
    /// settings `files`, after its own `env_file:` and under its own
    /// `environment:`, which wins; none when there is nothing to give.
    pub fn settings_override(&self, image: &str, files: &[String]) -> Option<String> {
        let services: Vec<&Service> = self.services.iter().filter(|s| s.runs(image)).collect();
        if files.is_empty() || services.is_empty() {
            return None;
        }
        let listed: String = files.iter().map(|file| format!("      - {}\n", quoted(file))).collect();
        Some(services.iter().fold("services:\n".to_string(), |yaml, service| {
            yaml + &format!("  {}:\n    env_file:\n{listed}", quoted(&service.name))
        }))
    }

    /// A Compose override that runs each service whose image is of the
    /// family of one of `standins` (`postgres` for `postgres:11.5-alpine`)
    /// and `missing` on that stand-in instead; with each replaced. None
    /// when none is.
    pub fn standins_override<'a>(
        &'a self,
        standins: &[&'a str],
        missing: impl Fn(&str) -> bool,
    ) -> Option<(String, Vec<StandIn<'a>>)> {
        let replaced: Vec<StandIn<'a>> = self
            .services
            .iter()
            .filter_map(|service| {
                let image = service.image.as_deref()?;
                let standin = standins.iter().find(|standin| image_family(standin) == service.image_name())?;
                (image != *standin && missing(image)).then_some(StandIn { service: &service.name, image, standin })
            })
            .collect();
        let yaml = replaced.iter().fold(String::new(), |yaml, r| {
            yaml + &format!("  {}:\n    image: {}\n", quoted(r.service), quoted(r.standin))
        });
        (!replaced.is_empty()).then(|| (format!("services:\n{yaml}"), replaced))
    }

    /// The `settings` that point a service of `image` at `localhost` for
    /// what a service of the stack serves (a `DATABASE_URL` of
    /// `postgresql://…@localhost/…` beside a `postgres`), where the file's
    /// own environment does not set them: (key, that service, the service
    /// of the image).
    pub fn localhost_settings<'a>(
        &'a self,
        image: &str,
        settings: &'a BTreeMap<String, String>,
    ) -> Vec<(&'a str, &'a str, &'a str)> {
        let mut found = Vec::new();
        for (key, value) in settings {
            let Some(kind) = localhost_kind(value) else { continue };
            let serving = self.services.iter().find(|s| s.image_name().contains(kind));
            let api = self.services.iter().find(|s| s.runs(image) && !s.environment.contains_key(key));
            if let (Some(serving), Some(api)) = (serving, api) {
                found.push((key.as_str(), serving.name.as_str(), api.name.as_str()));
            }
        }
        found
    }

    /// A Compose override that publishes `service`'s ports on free ports
    /// of `host` instead of the file's: `watch --stack` serves the file's
    /// port itself, through its proxy.
    pub fn republished(&self, service: &str, host: &str) -> String {
        let ports = self.service(service).map(|s| s.republished(host)).unwrap_or_default();
        format!("services:\n  {}:\n{ports}", quoted(service))
    }
}

/// A service's own image that a stand-in replaces.
#[derive(Debug, PartialEq, Eq)]
pub struct StandIn<'a> {
    pub service: &'a str,
    pub image: &'a str,
    pub standin: &'a str,
}

/// The last part of an image's name, without tag: `postgres` of
/// `docker.io/library/postgres:16`.
fn image_family(image: &str) -> &str {
    let path = image.split('@').next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    last.split(':').next().unwrap_or_default()
}

/// The image family that serves a URL at localhost (`postgres` for
/// `postgresql+psycopg://u:p@localhost:5432/app`), if it is one.
fn localhost_kind(value: &str) -> Option<&'static str> {
    let (scheme, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .map_or_else(|| host.split(':').next().unwrap_or_default(), |h| h.split(']').next().unwrap_or_default());
    if !["localhost", "127.0.0.1", "::1"].contains(&host) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    [("postgres", "postgres"), ("redis", "redis"), ("amqp", "rabbitmq"), ("mongodb", "mongo"), ("mysql", "mysql")]
        .into_iter()
        .find(|(prefix, _)| scheme.starts_with(prefix))
        .map(|(_, kind)| kind)
}

impl Service {
    /// Whether it runs `image`, the one the tool builds: named so, or
    /// built by Compose (`build:`), whose image the tool's stands in for.
    fn runs(&self, image: &str) -> bool {
        self.image.as_deref() == Some(image) || self.builds
    }

    /// Its `ports:`, every one on a free port of `host`.
    fn republished(&self, host: &str) -> String {
        if self.ports.is_empty() {
            return String::new();
        }
        let ports = self.ports.iter().map(|port| format!("      - \"{host}::{port}\"\n"));
        format!("    ports: !override\n{}", ports.collect::<String>())
    }

    /// The family of its image (`image_family`).
    fn image_name(&self) -> &str {
        image_family(self.image.as_deref().unwrap_or_default())
    }

    /// The Celery command it runs (`worker`, `beat`), if it runs Celery:
    /// the first word after `celery` and its global options.
    fn celery_command(&self) -> Option<&str> {
        let at = self.command.iter().position(|arg| arg == "celery" || arg.ends_with("/celery"))?;
        let mut args = self.command[at + 1..].iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-C" | "--no-color" | "-q" | "--quiet" | "--skip-checks" => {}
                option if option.starts_with('-') && !option.contains('=') => {
                    args.next();
                }
                option if option.starts_with('-') => {}
                command => return Some(command),
            }
        }
        None
    }

    /// The value of its command's option `short` or `long`, in any of the
    /// forms Celery's parser takes: `-l INFO`, `-lINFO`, `--loglevel INFO`,
    /// `--loglevel=INFO`.
    fn option(&self, short: &str, long: &str) -> Option<&str> {
        self.command.iter().enumerate().find_map(|(i, arg)| match arg.as_str() {
            arg if arg == short || arg == long => self.command.get(i + 1).map(String::as_str),
            _ => arg.strip_prefix(long).and_then(|rest| rest.strip_prefix('=')).or_else(|| arg.strip_prefix(short)),
        })
    }

    /// Whether its Celery command logs at INFO or finer (`--loglevel INFO`, `-l debug`).
    fn celery_logs_info(&self) -> bool {
        let level = self.option("-l", "--loglevel");
        level.is_some_and(|level| matches!(level.to_ascii_uppercase().as_str(), "INFO" | "DEBUG"))
    }

    /// How its worker's node name begins in the log's ready line: `celery@`,
    /// or the name `--hostname NAME@HOST` gives it. A name made of `%`
    /// variables is known only by its `@`.
    fn celery_node(&self) -> String {
        match self.option("-n", "--hostname").and_then(|name| name.split_once('@')) {
            None => "celery@".into(),
            Some((name, _)) if name.contains('%') => "@".into(),
            Some((name, _)) => format!("{name}@"),
        }
    }

    fn env_or(&self, key: &str, default: &str) -> String {
        self.environment.get(key).filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| default.to_string())
    }

    /// Readiness by what the service is, avoiding each one's traps.
    fn readiness(&self) -> Readiness {
        let image = self.image_name();
        if image.starts_with("postgres") {
            // Over TCP with a real query: during its first start
            // PostgreSQL answers on its socket only, then restarts.
            let user = self.env_or("POSTGRES_USER", "postgres");
            let database = self.env_or("POSTGRES_DB", &user);
            let argv = ["psql", "--host", "127.0.0.1", "--username", &user, "--dbname", &database];
            let argv = argv.iter().chain(&["--no-align", "--tuples-only", "--command", "SELECT 1"]);
            return Readiness::Exec { argv: argv.map(|s| s.to_string()).collect(), expect: Some("1".into()) };
        }
        if image.starts_with("redis") || image.starts_with("valkey") {
            // Only PONG: while it loads its data, Redis answers ping with LOADING.
            let argv = vec!["redis-cli".to_string(), "ping".to_string()];
            return Readiness::Exec { argv, expect: Some("PONG".into()) };
        }
        match self.celery_command() {
            // Celery logs `celery@HOST ready.` once it consumes from the
            // broker, at INFO; below INFO the service's own check says.
            Some("worker") if self.celery_logs_info() => {
                return Readiness::LogLine(vec![self.celery_node(), " ready.".into()]);
            }
            // Beat prints its banner whatever the log level, once its app
            // is imported; it serves nothing that could be asked. The
            // banner's last line: podman 4.3's log drops its first, which
            // Celery writes in two pieces.
            Some("beat") => return Readiness::LogLine(vec![". maxinterval -> ".into()]),
            _ => {}
        }
        let Some(test) = &self.healthcheck else { return Readiness::Running };
        // A healthcheck that GETs a local URL on a published port: the tool
        // GETs the same path from outside, without an exec per probe.
        if let Some((port, path)) = test.iter().find_map(|arg| local_url(arg)) {
            if self.ports.contains(&port) {
                return Readiness::Http { port, path };
            }
        }
        match test.split_first() {
            Some((form, rest)) if form == "CMD" => Readiness::Exec { argv: rest.to_vec(), expect: None },
            Some((form, rest)) if form == "CMD-SHELL" => {
                let argv = ["/bin/sh".to_string(), "-c".to_string()].into_iter().chain(rest.iter().cloned());
                Readiness::Exec { argv: argv.collect(), expect: None }
            }
            _ => Readiness::Running,
        }
    }
}

impl Readiness {
    /// What the tool waits for, as a sentence's end: "its log to say …".
    pub fn described(&self) -> String {
        match self {
            Readiness::Completed => "it to exit with 0".into(),
            Readiness::Http { port, path } => format!("GET {path} on its port {port} to answer 200"),
            Readiness::Exec { argv, expect: Some(expect) } => format!("`{}` to print {expect}", argv.join(" ")),
            Readiness::Exec { argv, expect: None } => format!("`{}` to succeed", argv.join(" ")),
            Readiness::LogLine(parts) => format!("its log to say `{}`", parts.join("…")),
            Readiness::Running => "it to run".into(),
        }
    }
}

/// `text` as a YAML string: JSON's double-quoted strings are YAML's too.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The port and path of an `http://127.0.0.1:PORT/PATH` (or localhost)
/// URL within `text`.
fn local_url(text: &str) -> Option<(u16, String)> {
    for host in ["http://127.0.0.1", "http://localhost", "http://0.0.0.0"] {
        let Some(at) = text.find(host) else { continue };
        let rest = &text[at + host.len()..];
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ')' | ',')).unwrap_or(rest.len());
        let rest = &rest[..end];
        let (port, path) = match rest.strip_prefix(':') {
            Some(rest) => {
                let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                (rest[..digits].parse().ok()?, &rest[digits..])
            }
            None => (80, rest),
        };
        let path = if path.is_empty() { "/" } else { path };
        return Some((port, path.to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(json: serde_json::Value) -> Result<Stack> {
        Stack::from_json(json.to_string().as_bytes())
    }

    fn sample() -> Stack {
        stack(serde_json::json!({"services": {
            "api": {"image": "app:1", "build": {"context": "."},
                    "ports": [{"target": 8000, "published": "8000", "mode": "ingress"}],
                    "depends_on": {"migrate": {"condition": "service_completed_successfully", "required": true},
                                   "redis": {"condition": "service_healthy"}},
                    "healthcheck": {"test": ["CMD", "python", "-c",
                        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2)"]}},
            "migrate": {"image": "app:1", "command": ["python", "-m", "alembic", "upgrade", "head"],
                        "depends_on": {"postgres": {"condition": "service_healthy"}}},
            "worker": {"image": "app:1", "command": ["python", "-m", "celery", "--app", "worker", "worker", "-l", "info"],
                       "depends_on": {"redis": {"condition": "service_started"}}},
            "beat": {"image": "app:1", "command": ["celery", "-A", "worker", "beat"]},
            "postgres": {"image": "docker.io/library/postgres:16",
                         "environment": {"POSTGRES_USER": "app", "POSTGRES_PASSWORD_FILE": "/run/secrets/p"}},
            "redis": {"image": "redis:7", "healthcheck": {"test": ["CMD", "redis-cli", "ping"]}},
            "other": {"image": "x", "healthcheck": {"test": ["CMD-SHELL", "test -f /ok"]}},
            "plain": {"image": "y"}
        }}))
        .unwrap()
    }

    #[test]
    fn each_service_is_probed_for_what_it_is() {
        let stack = sample();
        let readiness = |name: &str| stack.readiness(stack.service(name).unwrap());
        assert_eq!(readiness("api"), Readiness::Http { port: 8000, path: "/ready".into() });
        assert_eq!(readiness("migrate"), Readiness::Completed);
        let Readiness::Exec { argv, expect } = readiness("postgres") else { panic!() };
        assert_eq!(
            argv.join(" "),
            "psql --host 127.0.0.1 --username app --dbname app --no-align --tuples-only --command SELECT 1"
        );
        assert_eq!(expect.as_deref(), Some("1"));
        assert_eq!(
            readiness("redis"),
            Readiness::Exec { argv: vec!["redis-cli".into(), "ping".into()], expect: Some("PONG".into()) }
        );
        assert_eq!(readiness("worker"), Readiness::LogLine(vec!["celery@".into(), " ready.".into()]));
        assert_eq!(readiness("beat"), Readiness::LogLine(vec![". maxinterval -> ".into()]));
        assert_eq!(
            readiness("other"),
            Readiness::Exec { argv: vec!["/bin/sh".into(), "-c".into(), "test -f /ok".into()], expect: None }
        );
        assert_eq!(readiness("plain"), Readiness::Running);
    }

    #[test]
    fn a_quiet_worker_is_judged_by_its_own_check() {
        let worker = |command: &[&str], healthcheck: Option<&[&str]>| Service {
            name: "w".into(),
            image: Some("app".into()),
            builds: false,
            command: command.iter().map(|s| s.to_string()).collect(),
            depends_on: Vec::new(),
            healthcheck: healthcheck.map(|h| h.iter().map(|s| s.to_string()).collect()),
            ports: Vec::new(),
            host_ports: Vec::new(),
            environment: BTreeMap::new(),
        };
        let ready_line = Readiness::LogLine(vec!["celery@".into(), " ready.".into()]);
        assert_eq!(worker(&["celery", "-A", "t", "worker", "--loglevel=INFO"], None).readiness(), ready_line);
        assert_eq!(worker(&["celery", "-A", "t", "worker", "-lDEBUG"], None).readiness(), ready_line);
        assert_eq!(worker(&["celery", "-A", "t", "worker"], None).readiness(), Readiness::Running);
        let check = ["CMD", "celery", "inspect", "ping"];
        assert_eq!(
            worker(&["celery", "worker", "-l", "warning"], Some(&check)).readiness(),
            Readiness::Exec { argv: vec!["celery".into(), "inspect".into(), "ping".into()], expect: None }
        );
        assert_eq!(ready_line.described(), "its log to say `celery@… ready.`");
        let named = |name: &str| worker(&["celery", "-A", "t", "worker", "-l", "info", "--hostname", name], None);
        assert_eq!(named("w2@%h").readiness(), Readiness::LogLine(vec!["w2@".into(), " ready.".into()]));
        assert_eq!(named("%n-2@%h").readiness(), Readiness::LogLine(vec!["@".into(), " ready.".into()]));
        assert_eq!(named("worker1").readiness(), ready_line, "a name without @ is Celery's celery@NAME");
        let short = worker(&["celery", "worker", "-linfo", "-nw3@box"], None).readiness();
        assert_eq!(short, Readiness::LogLine(vec!["w3@".into(), " ready.".into()]));
    }

    #[test]
    fn services_start_once_what_they_wait_for_is_met() {
        let stack = sample();
        let none = BTreeSet::new();
        assert_eq!(stack.startable(&none, |_, _| false), ["beat", "other", "plain", "postgres", "redis"]);
        let started: BTreeSet<String> = ["beat", "other", "plain", "postgres", "redis"].map(String::from).into();
        // Redis only started, postgres ready.
        let met = |name: &str, condition| name == "postgres" || (name == "redis" && condition == Condition::Started);
        assert_eq!(stack.startable(&started, met), ["migrate", "worker"]);
    }

    #[test]
    fn a_broken_order_is_refused() {
        let unknown = stack(serde_json::json!({"services": {"a": {"image": "x", "depends_on": {"b": {}}}}}));
        assert_eq!(unknown.unwrap_err().to_string(), "service a depends on b, which is not a service of the stack");
        let cycle = stack(serde_json::json!({"services": {
            "a": {"image": "x", "depends_on": {"b": {}}}, "b": {"image": "x", "depends_on": {"a": {}}}}}));
        assert_eq!(
            cycle.unwrap_err().to_string(),
            "the services a, b depend on each other in a cycle, so none can start"
        );
    }

    #[test]
    fn urls_in_healthchecks() {
        assert_eq!(local_url("curl -f http://localhost:8080/health || exit 1"), Some((8080, "/health".into())));
        assert_eq!(local_url("urlopen('http://127.0.0.1:8000/ready')"), Some((8000, "/ready".into())));
        assert_eq!(local_url("wget -q http://localhost/"), Some((80, "/".into())));
        assert_eq!(local_url("pg_isready"), None);
    }

    #[test]
    fn a_run_s_stack_is_labelled_and_publishes_on_free_loopback_ports() {
        let yaml = sample().isolated_override(&[("dev.xtask.owner", "h/1/2".to_string())], "127.0.0.1");
        assert!(
            yaml.starts_with(
                "services:\n  \"api\":\n    labels:\n      \"dev.xtask.owner\": \"h/1/2\"\n    ports: !override\n      \
                 - \"127.0.0.1::8000\"\n  \"beat\":\n    labels:\n"
            ),
            "{yaml}"
        );
        assert_eq!(yaml.matches("ports:").count(), 1);
        assert_eq!(
            sample().republished("api", "127.0.0.1"),
            "services:\n  \"api\":\n    ports: !override\n      - \"127.0.0.1::8000\"\n"
        );
    }

    #[test]
    fn the_settings_files_reach_the_services_of_the_image_and_a_localhost_url_is_named() {
        let stack = sample();
        let yaml = stack.settings_override("app:1", &["/p/docker/run.env".to_string()]).unwrap();
        assert!(
            yaml.starts_with("services:\n  \"api\":\n    env_file:\n      - \"/p/docker/run.env\"\n  \"beat\":\n"),
            "{yaml}"
        );
        assert_eq!(yaml.matches("env_file:").count(), 4, "api, beat, migrate, worker: {yaml}");
        assert_eq!(stack.settings_override("app:1", &[]), None);
        let settings = BTreeMap::from([
            ("DATABASE_URL".to_string(), "postgresql+psycopg://app:pw@localhost:5432/app".to_string()),
            ("REDIS_URL".to_string(), "redis://redis:6379/0".to_string()),
            ("CACHE_URL".to_string(), "redis://127.0.0.1:6379/1".to_string()),
            ("HOME_PAGE".to_string(), "http://localhost:8000/".to_string()),
        ]);
        let found = stack.localhost_settings("app:1", &settings);
        assert_eq!(found, [("CACHE_URL", "redis", "api"), ("DATABASE_URL", "postgres", "api")]);
    }

    #[test]
    fn offline_a_missing_image_of_a_family_the_stand_ins_serve_runs_on_the_stand_in() {
        let stack = sample();
        let standins = ["xtask-standin/postgres:bookworm", "xtask-standin/redis:bookworm"];
        let (yaml, replaced) = stack.standins_override(&standins, |image| image != "redis:7").unwrap();
        let postgres = StandIn {
            service: "postgres",
            image: "docker.io/library/postgres:16",
            standin: "xtask-standin/postgres:bookworm",
        };
        assert_eq!(replaced, [postgres]);
        assert_eq!(yaml, "services:\n  \"postgres\":\n    image: \"xtask-standin/postgres:bookworm\"\n");
        assert_eq!(stack.standins_override(&standins, |_| false), None);
    }

    #[test]
    fn a_new_build_replaces_the_services_of_its_image_in_their_order() {
        let stack = sample();
        let ours = stack.running("app:1");
        let names: Vec<&str> = ours.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["api", "beat", "migrate", "worker"]);
        // Postgres and Redis go on: only the migration is waited for.
        assert_eq!(ours.service("api").unwrap().depends_on, [("migrate".to_string(), Condition::Completed)]);
        assert_eq!(ours.startable(&BTreeSet::new(), |_, _| false), ["beat", "migrate", "worker"]);
        assert_eq!(ours.readiness(ours.service("migrate").unwrap()), Readiness::Completed);
        assert_eq!(stack.service("api").unwrap().host_ports, [8000]);
    }
}
