//! Containers we start: their run command, our labels, a guard that
//! removes the container when dropped, and the sweep that removes what a
//! killed run left behind.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    process::Child,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use camino::Utf8PathBuf;
use serde::Deserialize;

use super::{Engine, Kind};
use crate::{
    model::service_log,
    sys::{
        process::{self, CommandLine},
        project, text,
    },
};

/// Every container we start carries it.
pub const MANAGED: &str = "dev.xtask.managed";
/// Which task started it.
pub const TASK: &str = "dev.xtask.task";
/// `host/pid/start-time` of the process whose life the container shares
/// (smoke, run --attach). A detached `run` has none: it is meant to outlive us.
pub const OWNER: &str = "dev.xtask.owner";
/// The label that holds the image tag the container was started for, for `stop --tag`.
pub const TAG_LABEL: &str = "dev.xtask.tag";
/// The project root of the checkout that started it: `stop` keeps to its own.
pub const PROJECT: &str = "dev.xtask.project";

/// How many of the service's last log lines explain a failure.
const LOG_LINES: usize = 20;
/// How long `stop` waits for the service to end before it kills it.
const STOP_GRACE_SECS: &str = "10";

/// What to start.
pub struct Spec<'a> {
    pub task: &'a str,
    /// What to run: an id, so that a concurrent build of the tag cannot swap it.
    pub image: &'a str,
    /// The port the service listens on inside the container.
    pub port: u16,
    pub tag: Option<&'a str>,
    /// None: a free port, chosen by the engine.
    pub host_port: Option<u16>,
    pub settings: Settings,
    /// The container goes when this process goes.
    pub owned: bool,
    /// A read-only root file system, with a tmpfs for /tmp.
    pub read_only: bool,
}

impl<'a> Spec<'a> {
    /// The usual container: lives as long as this process, on a free port.
    pub fn owned(task: &'a str, image: &'a str, port: u16) -> Spec<'a> {
        let settings = Settings::default();
        Spec { task, image, port, tag: None, host_port: None, settings, owned: true, read_only: false }
    }
}

/// The service's settings at run time: `--env KEY=VALUE`, whose values are
/// masked wherever a command is shown, and env files (the project's
/// `run.env`, `--env-file FILE`), whose values stay in the file: the
/// engine reads it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub env: BTreeMap<String, String>,
    /// Read in order: a later file's value wins, and `env` wins over all.
    pub env_files: Vec<Utf8PathBuf>,
}

pub(super) fn label(key: &str, value: &str) -> [String; 2] {
    ["--label".to_string(), format!("{key}={value}")]
}

impl Engine {
    /// The command that starts `spec` as container `name`. The port is
    /// published on the engine's `published_host` only: loopback for a
    /// local engine; for a remote one the address we reach it at, not
    /// every interface it has. Environment values are masked wherever it
    /// is shown.
    fn run_command(&self, spec: &Spec<'_>, name: &str, owner: &str) -> CommandLine {
        let mut line = self.cli().args(["run", "--detach", "--name", name]).args(label(MANAGED, "true"));
        line = line.args(label(TASK, spec.task)).args(label(PROJECT, project::root().as_str()));
        if spec.owned {
            line = line.args(label(OWNER, owner));
        }
        if let Some(tag) = spec.tag {
            line = line.args(label(TAG_LABEL, tag));
        }
        if spec.read_only {
            line = line.args(["--read-only", "--tmpfs", "/tmp"]);
        }
        let port = spec.host_port.map_or(String::new(), |p| p.to_string());
        line = line.arg("--publish").arg(format!("{}:{port}:{}", self.published_host(), spec.port));
        for file in &spec.settings.env_files {
            line = line.args(["--env-file", file.as_str()]);
        }
        for (key, value) in &spec.settings.env {
            line = line.arg("--env").masked_pair(key, value);
        }
        line.arg(spec.image)
    }

    /// Starts a container from `spec`; the guard removes it when dropped.
    pub fn start(&self, spec: &Spec<'_>) -> Result<Container> {
        if let Some(port) = spec.host_port.filter(|_| !self.is_remote()) {
            // docker's own wording for a busy port differs between versions.
            crate::sys::probe::ensure_free(port)?;
        }
        let name = project::unique_name(&format!("xtask-{}", spec.task));
        let line = self.run_command(spec, &name, &this_owner());
        // Guard first: even a failed or interrupted run may have created the container.
        let mut container = Container::guard(self, name, spec.port, spec.host_port);
        let output = self.output(&line)?;
        if !output.status.success() {
            bail!(run_failure(self.kind(), &String::from_utf8_lossy(&output.stderr)));
        }
        container.id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok(container)
    }

    fn run_once_command(&self, image: &str, entrypoint: &str, args: &[&str]) -> CommandLine {
        let line = self.cli().args(["run", "--rm", "--network", "none"]).args(label(MANAGED, "true"));
        line.args(["--entrypoint", entrypoint, image]).args(args.iter().copied())
    }

    /// What `entrypoint args` prints in a throwaway container of `image`,
    /// with no network.
    pub fn run_once(&self, image: &str, entrypoint: &str, args: &[&str]) -> Result<String> {
        self.read(&self.run_once_command(image, entrypoint, args))
    }

    /// A `ps --format` template that prints label `key`: Docker's ps has
    /// `.Label`, podman's a map of them.
    pub(super) fn label_template(&self, key: &str) -> String {
        self.kind().can().label_template.of(key)
    }

    pub(super) fn ps_command(&self, filters: &[String], format: &str) -> CommandLine {
        let filters = filters.iter().flat_map(|filter| ["--filter", filter.as_str()]);
        self.cli().args(["ps", "--all"]).args(filters).args(["--format", format])
    }

    fn logs_command(&self, container: &str, lines: usize) -> CommandLine {
        // podman 4.3's --tail puts the pieces of a partial line in the wrong
        // places (podman#19545), and an unbuffered traceback is written in
        // pieces: podman reads the whole log, and log_tail cuts it.
        let tail = self.kind().can().logs_tail.then(|| ["--tail".to_string(), lines.to_string()]);
        self.cli().arg("logs").args(tail.into_iter().flatten()).arg(container)
    }

    /// The last `lines` lines container `container` wrote, stdout and
    /// stderr; empty when the engine cannot say.
    pub fn log_tail(&self, container: &str, lines: usize) -> String {
        match self.output(&self.logs_command(container, lines)) {
            Ok(output) => text::last_lines_as_written(
                &format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
                lines,
            ),
            Err(_) => String::new(),
        }
    }

    /// Names of the containers, running or not, that every filter matches.
    pub fn container_names(&self, filters: &[String]) -> Result<Vec<String>> {
        let names = self.read(&self.ps_command(filters, "{{.Names}}"))?;
        Ok(names.lines().map(str::to_string).collect())
    }

    /// Docker's `rm --force` kills at once; podman's stops first, giving
    /// the service 10 s unless told `--time 0`.
    fn rm_command(&self, names: &[String]) -> CommandLine {
        let line = self.cli().args(["rm", "--force", "--volumes"]);
        let line = line.args(self.kind().can().rm_at_once.iter().copied());
        line.args(names.iter().cloned()).cleanup()
    }

    /// Removes containers, running or not, with their anonymous volumes.
    pub fn remove_containers(&self, names: &[String]) -> Result<()> {
        if !names.is_empty() {
            self.read(&self.rm_command(names))?;
        }
        Ok(())
    }

    /// The containers of our runs, each with its owner label: `host/pid/start-time`.
    fn owned_containers(&self) -> Result<Vec<(String, String)>> {
        let format = format!("{{{{.Names}}}} {}", self.label_template(OWNER));
        let listed = self.read(&self.ps_command(&[format!("label={OWNER}")], &format))?;
        let owned = listed.lines().filter_map(|line| line.split_once(' '));
        Ok(owned.map(|(name, owner)| (name.to_string(), owner.to_string())).collect())
    }

    /// The containers that process `pid` of this host started.
    pub fn containers_of(&self, pid: u32) -> Result<Vec<String>> {
        let prefix = format!("{}/{pid}/", hostname());
        let owned = self.owned_containers()?.into_iter().filter(|(_, owner)| owner.starts_with(&prefix));
        Ok(owned.map(|(name, _)| name).collect())
    }

    /// Removes the containers of our runs whose process is gone (a SIGKILL
    /// leaves them behind). Returns their names.
    pub fn sweep_leftovers(&self) -> Result<Vec<String>> {
        let gone: Vec<String> = self
            .owned_containers()?
            .into_iter()
            .filter(|(_, owner)| owner_is_gone(owner))
            .map(|(name, _)| name)
            .collect();
        if !gone.is_empty() {
            eprintln!("Removing containers left by runs that were killed: {}", gone.join(", "));
            self.remove_containers(&gone)?;
        }
        Ok(gone)
    }
}

/// The containers.conf lines that podman needs where the sandbox may not
/// raise rlimits (no CAP_SYS_RESOURCE): every podman run fails without
/// them. `cargo xtask setup --engine podman` adds them.
pub const PODMAN_ULIMITS: &str = "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n";
pub const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";

/// One sentence for a `run` the engine refused, naming that engine; the
/// CLI's pointer to its help is no part of it.
fn run_failure(kind: Kind, stderr: &str) -> String {
    if kind.can().sets_rlimits && stderr.contains("rlimit") {
        return format!(
            "{cli} cannot start containers here: its default rlimits are above what this machine allows. \
             Lower them with `cargo xtask setup --engine {cli}`, which adds `{}` to {CONTAINERS_CONF}.",
            PODMAN_ULIMITS.trim_end().replace('\n', " "),
            cli = kind.name()
        );
    }
    let said: Vec<&str> =
        stderr.lines().filter(|line| !line.starts_with("Run '") && !line.starts_with("See '")).collect();
    format!("{} run failed: {}", kind.name(), text::last_lines(&said.join("\n"), 3))
}

/// A started container. Dropping it removes the container, unless it was
/// `keep()`-ed; so every early return, error and signal tears it down.
pub struct Container {
    engine: Engine,
    pub name: String,
    pub id: String,
    /// The service's port inside the container.
    port: u16,
    /// The host port it was published on, when the caller chose it.
    published: Option<u16>,
    keep: bool,
}

impl Container {
    /// The guard of container `name`, which another command starts (a
    /// Compose one-off): made before it starts, so that a failed or
    /// interrupted start is removed too.
    pub(super) fn guard(engine: &Engine, name: String, port: u16, published: Option<u16>) -> Container {
        Container { engine: engine.clone(), name, id: String::new(), port, published, keep: false }
    }

    fn cli(&self) -> CommandLine {
        self.engine.cli()
    }

    fn port_command(&self) -> CommandLine {
        self.cli().args(["port", &self.name, &format!("{}/tcp", self.port)])
    }

    /// Where the service's published port is reached from here: the
    /// engine's host, at the port it chose. A container that exited at
    /// once has none: then its exit code and log say why.
    pub fn endpoint(&self) -> Result<SocketAddr> {
        let host = self.engine.published_host();
        let ip: IpAddr = host.parse().with_context(|| format!("the engine's host `{host}` is not an IP address"))?;
        Ok(SocketAddr::new(ip, self.host_port()?))
    }

    fn host_port(&self) -> Result<u16> {
        if let Some(port) = self.published {
            return Ok(port);
        }
        let published = match self.engine.read(&self.port_command()) {
            Ok(published) => published,
            Err(error) => match self.exit_code() {
                Ok(Some(code)) => bail!(self.exited(code)),
                _ => return Err(error),
            },
        };
        parse_port(&published).with_context(|| format!("cannot read the published port from `{published}`"))
    }

    /// Why the service is gone: its exit code and its last log lines.
    pub fn exited(&self, code: i64) -> String {
        format!("The container exited with code {code} before it answered. {}", self.last_words())
    }

    /// The service's last log lines, after a sentence that says what they
    /// show, where they show something we know.
    pub fn last_words(&self) -> String {
        let log = self.log_tail(LOG_LINES);
        let explained = service_log::explain(&log, self.port).map(|sentence| sentence + " ").unwrap_or_default();
        format!("{explained}The container's last log lines:\n{log}")
    }

    fn state_command(&self) -> CommandLine {
        let format = "{{.State.Running}} {{.State.ExitCode}}";
        self.cli().args(["container", "inspect", "--format", format, &self.name])
    }

    /// The exit code, once the container has stopped.
    pub fn exit_code(&self) -> Result<Option<i64>> {
        // Asked every turn of the readiness loop: the API answers in a millisecond.
        if let Some(Some(info)) = self.engine.api_get::<ContainerInfo>(&format!("/containers/{}/json", self.name)) {
            return Ok((!info.state.running).then_some(info.state.exit_code));
        }
        let state = self.engine.read(&self.state_command())?;
        Ok(match state.split_once(' ') {
            Some(("false", code)) => code.parse().ok(),
            _ => None,
        })
    }

    /// The last `lines` lines the service wrote, stdout and stderr.
    fn log_tail(&self, lines: usize) -> String {
        self.engine.log_tail(&self.name, lines)
    }

    fn follow_command(&self) -> CommandLine {
        self.cli().args(["logs", "--follow", &self.name])
    }

    /// Streams the service's log to our stderr until the returned child is killed.
    pub fn follow_logs(&self) -> Result<Child> {
        process::spawn_to_stderr(&self.follow_command()).context("cannot follow the container's logs")
    }

    fn size_command(&self) -> CommandLine {
        self.cli().args(["container", "inspect", "--size", "--format", "{{.SizeRw}}", &self.name])
    }

    fn diff_command(&self) -> CommandLine {
        self.cli().args(["diff", &self.name])
    }

    /// Bytes the service wrote to the container's own layer, and the paths
    /// it changed (`docker diff`'s lines); none when all the layer holds is
    /// what the engine itself writes there.
    pub fn service_writes(&self) -> Result<(u64, Vec<String>)> {
        let size = self.engine.read(&self.size_command())?;
        let size = size.parse().with_context(|| format!("cannot read the writable layer's size `{size}`"))?;
        let changed = if size == 0 { String::new() } else { self.engine.read(&self.diff_command())? };
        let by_the_service: Vec<String> =
            changed.lines().filter(|line| !written_by_the_engine(line)).map(str::to_string).collect();
        Ok(if by_the_service.is_empty() { (0, by_the_service) } else { (size, by_the_service) })
    }

    fn stop_command(&self) -> CommandLine {
        self.cli().args(["stop", "--time", STOP_GRACE_SECS, &self.name]).cleanup()
    }

    /// Stops the service the graceful way, then removes the container.
    pub fn stop(mut self) -> Result<Stopped> {
        let started = Instant::now();
        self.engine.read(&self.stop_command()).context("docker stop failed")?;
        let took = started.elapsed();
        let exit_code = self.exit_code().ok().flatten();
        self.remove();
        self.keep = true;
        Ok(Stopped { took, exit_code })
    }

    /// Leaves the container running after we exit (a detached `run`).
    pub fn keep(mut self) {
        self.keep = true;
    }

    fn remove(&self) {
        let _ = self.engine.remove_containers(std::slice::from_ref(&self.name));
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.keep {
            self.remove();
        }
    }
}

/// How a stop went.
pub struct Stopped {
    pub took: Duration,
    /// None: the engine did not say.
    pub exit_code: Option<i64>,
}

impl Stopped {
    /// Whether the engine had to kill the service at the end of the grace
    /// time: SIGKILL's 128 + 9. A service that ends on SIGTERM exits on its own.
    pub fn was_killed(&self) -> bool {
        self.exit_code == Some(137)
    }
}

/// What `docker container inspect` says of a container, as far as we use it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerInfo {
    state: ContainerState,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerState {
    running: bool,
    exit_code: i64,
}

/// `0.0.0.0:49153` or `127.0.0.1:49153` (one line per address) → 49153.
fn parse_port(published: &str) -> Option<u16> {
    published.lines().next()?.rsplit(':').next()?.trim().parse().ok()
}

/// This process as an owner label says it: see `owner_of`.
pub(super) fn this_owner() -> String {
    owner_of(std::process::id()).unwrap_or_default()
}

/// `host/pid/start-time`: the start time tells a live process from a
/// later one that reuses the pid. None where there is no /proc.
fn owner_of(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(format!("{}/{pid}/{}", hostname(), start_time(&stat)?))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string()
}

/// Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces,
/// so count from its closing parenthesis.
fn start_time(stat: &str) -> Option<&str> {
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)
}

/// Whether the owner label names a process of this machine that is gone.
/// Anything unsure (another host, no /proc, a malformed label) counts as
/// alive: a live run's container is never touched.
pub(super) fn owner_is_gone(owner: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(host), Some(pid), Some(started), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if started.is_empty() || host != hostname() || !std::path::Path::new("/proc/self/stat").exists() {
        return false;
    }
    owner_of(pid).is_none_or(|now| now != owner)
}

/// Whether a `docker diff` line (`C /etc`, `A /tmp/x`) names a file the
/// engine itself writes into a container: podman adds the image's numeric
/// user to /etc/passwd and /etc/group, and both engines may keep
/// /etc/hosts and the like there.
fn written_by_the_engine(line: &str) -> bool {
    const ENGINE_S: &[&str] = &[
        "/etc",
        "/etc/passwd",
        "/etc/group",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
        "/run",
        "/run/.containerenv",
    ];
    ENGINE_S.contains(&line.split_once(' ').map_or(line, |(_, path)| path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_s_own_files_are_not_the_service_s_writes() {
        assert!(["C /etc", "C /etc/group", "C /etc/passwd"].into_iter().all(written_by_the_engine));
        let cache = ["C /srv", "C /srv/app", "A /srv/app/cache.db", "C /etc"];
        let by_the_service: Vec<&str> = cache.into_iter().filter(|line| !written_by_the_engine(line)).collect();
        assert_eq!(by_the_service, ["C /srv", "C /srv/app", "A /srv/app/cache.db"]);
    }

    #[test]
    fn the_run_command_publishes_on_loopback_labels_and_masks_the_environment() {
        let engine = Engine::default();
        let spec = Spec {
            settings: Settings {
                env: BTreeMap::from([("A".to_string(), "1".to_string()), ("DB_PASSWORD".to_string(), "2".to_string())]),
                env_files: vec!["/p/.env".into()],
            },
            read_only: true,
            tag: Some("t:1"),
            ..Spec::owned("smoke", "sha256:abc", 8000)
        };
        let line = engine.run_command(&spec, "n", "h/1/2");
        assert_eq!(
            line.unmasked(),
            format!("docker run --detach --name n --label dev.xtask.managed=true --label dev.xtask.task=smoke \
             --label dev.xtask.project={} --label dev.xtask.owner=h/1/2 --label dev.xtask.tag=t:1 --read-only --tmpfs /tmp \
             --publish 127.0.0.1::8000 --env-file /p/.env --env A=1 --env DB_PASSWORD=2 sha256:abc", project::root())
        );
        assert!(line.to_string().contains("--env A=1 --env DB_PASSWORD=*** sha256:abc"), "{line}");
        let spec = Spec { host_port: Some(8080), owned: false, ..Spec::owned("run", "i", 9000) };
        let argv = engine.run_command(&spec, "n", "h/1/2").to_string();
        assert!(argv.contains("--publish 127.0.0.1:8080:9000") && !argv.contains(OWNER), "{argv}");
    }

    #[test]
    fn the_other_container_commands() {
        let engine = Engine::default();
        let container = Container {
            engine: engine.clone(),
            name: "n".into(),
            id: String::new(),
            port: 8000,
            published: None,
            keep: true,
        };
        let shown = [
            (container.port_command(), "docker port n 8000/tcp"),
            (
                container.state_command(),
                "docker container inspect --format \"{{.State.Running}} {{.State.ExitCode}}\" n",
            ),
            (engine.logs_command("n", 20), "docker logs --tail 20 n"),
            (Engine::of(Kind::Podman).logs_command("n", 20), "podman logs n"),
            (container.follow_command(), "docker logs --follow n"),
            (container.size_command(), "docker container inspect --size --format {{.SizeRw}} n"),
            (container.diff_command(), "docker diff n"),
            (container.stop_command(), "docker stop --time 10 n"),
            (engine.rm_command(&["a".into(), "b".into()]), "docker rm --force --volumes a b"),
            (Engine::of(Kind::Podman).rm_command(&["a".into()]), "podman rm --force --volumes --time 0 a"),
            (
                Engine::of(Kind::Podman).ps_command(&[], &Engine::of(Kind::Podman).label_template("k")),
                "podman ps --all --format \"{{index .Labels \\\"k\\\"}}\"",
            ),
            (
                engine.ps_command(&["label=x".into(), "label=y=1".into()], "{{.Names}}"),
                "docker ps --all --filter label=x --filter label=y=1 --format {{.Names}}",
            ),
            (
                engine.run_once_command("img", "python", &["-c", "print(1)"]),
                "docker run --rm --network none --label dev.xtask.managed=true --entrypoint python img -c print(1)",
            ),
        ];
        for (line, expected) in shown {
            assert_eq!(line.to_string(), expected);
        }
    }

    #[test]
    fn a_refused_run_names_its_engine_and_podman_s_rlimits_get_their_fix() {
        let rlimit = "time=\"2026\" level=error msg=\"error setting rlimit type 7: operation not permitted\"";
        let said = run_failure(Kind::Podman, rlimit);
        assert!(said.starts_with("podman cannot start containers here") && said.contains("default_ulimits"), "{said}");
        assert!(said.contains("`cargo xtask setup --engine podman`"), "{said}");
        let docker = "docker: Error response from daemon: boom.\nSee 'docker run --help'.\n";
        assert_eq!(run_failure(Kind::Docker, docker), "docker run failed: docker: Error response from daemon: boom.");
    }

    #[test]
    fn ports_and_owners_are_read() {
        assert_eq!(parse_port("127.0.0.1:49153\n"), Some(49153));
        assert_eq!(parse_port("[::]:80"), Some(80));
        assert_eq!(start_time("42 (a b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 9999 20"), Some("9999"));
    }

    #[test]
    fn only_a_dead_owner_of_this_host_is_gone() {
        let me = owner_of(std::process::id()).unwrap();
        assert!(!owner_is_gone(&me), "this process is alive");
        let (host, rest) = me.split_once('/').unwrap();
        let (pid, _) = rest.split_once('/').unwrap();
        assert!(owner_is_gone(&format!("{host}/{pid}/1")), "same pid, other start time: a reused pid");
        assert!(owner_is_gone(&format!("{host}/4194304/1")), "no such pid");
        assert!(!owner_is_gone("other-host/4194304/1"));
        assert!(!owner_is_gone("garbage"));
    }
}
