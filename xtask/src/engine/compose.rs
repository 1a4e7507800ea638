//! Compose v2 (`docker compose`), the orchestrator users already have: the
//! model of a Compose file as Compose itself resolves it, and a project
//! (one stack) started service by service, watched and torn down.
//!
//! On podman, Compose talks to podman's Docker-compatible API, which a
//! `podman system service` of our own serves for as long as the project
//! is in use (`PodmanSocket`).

use std::{
    process::Child,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Deserialize;

use super::{
    capabilities::ComposeVia,
    container::{label, owner_is_gone, this_owner, Container, MANAGED, OWNER, TASK},
    Engine,
};
use crate::sys::{
    process::{self, CommandLine},
    project, text,
    wait::Wait,
};

/// The label Compose gives each container and network of a project.
const PROJECT_LABEL: &str = "com.docker.compose.project";

/// Whether no process has the id `pid` on this machine.
fn pid_is_gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The label of a stack container that lives only as long as the run
/// that started it (`smoke --stack`): its owner, as `container::OWNER`'s.
pub const STACK_OWNER: &str = "dev.xtask.stack-owner";

/// What became of asking Compose for a file's model.
pub enum ComposeModel {
    /// The resolved model, as JSON.
    Read(serde_json::Value),
    /// No Compose v2 here.
    NoCompose,
}

/// The sentence for a machine without Compose v2.
pub const NO_COMPOSE: &str = "Compose v2 (`docker compose`) is not installed: the stack needs it. Install the \
     docker-compose-plugin package (Docker's apt repository), or on Debian the docker-compose package of trixie, \
     which puts it in /usr/libexec/docker/cli-plugins.";

/// Whether a failed `docker compose` said that there is no such command.
fn says_no_compose(stderr: &str) -> bool {
    stderr.contains("is not a docker command") || stderr.contains("unknown command") && stderr.contains("compose")
}

impl Engine {
    /// `docker compose config`, whatever the engine: it reads the file,
    /// resolves `extends`, profiles and short forms, and asks no engine.
    /// Variables stay as written (`--no-interpolate`): a `${PASSWORD}` is
    /// no literal password.
    fn compose_config_command(&self, file: &Utf8Path) -> CommandLine {
        CommandLine::new("docker").args([
            "compose",
            "--file",
            file.as_str(),
            "config",
            "--format",
            "json",
            "--no-interpolate",
        ])
    }

    /// Compose v2's version (`2.26.1`), or None where there is none.
    pub fn compose_version(&self) -> Option<String> {
        let version = CommandLine::new("docker").args(["compose", "version", "--short"]);
        process::read(&version).ok().filter(|v| !v.is_empty())
    }

    /// The model of the Compose file `file`; a sentence when Compose
    /// refuses it (a YAML error, an unknown service in depends_on).
    pub fn compose_model(&self, file: &Utf8Path) -> Result<ComposeModel> {
        let ran = match process::output(&self.compose_config_command(file)) {
            Ok(ran) => ran,
            Err(_) => return Ok(ComposeModel::NoCompose),
        };
        let said = String::from_utf8_lossy(&ran.stderr);
        if !ran.status.success() && says_no_compose(&said) {
            return Ok(ComposeModel::NoCompose);
        }
        if !ran.status.success() {
            bail!("Compose cannot read {file}: {}", text::last_lines(&said, 2));
        }
        Ok(ComposeModel::Read(serde_json::from_slice(&ran.stdout)?))
    }

    /// The Compose projects whose `smoke --stack` run is gone (a SIGKILL
    /// leaves its stack behind): by their containers' owner; and on an
    /// engine of this machine, whose runs are all this machine's, by the
    /// networks of projects named `{run_prefix}-PID-…` whose process is gone
    /// (a signal while Compose starts the first services leaves the
    /// network before any container).
    pub fn abandoned_stacks(&self, run_prefix: &str) -> Result<Vec<String>> {
        let name = self.label_template(PROJECT_LABEL);
        let format = format!("{name} {}", self.label_template(STACK_OWNER));
        let listed = self.read(&self.ps_command(&[format!("label={STACK_OWNER}")], &format))?;
        let mut gone: Vec<String> = listed
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, owner)| owner_is_gone(owner))
            .map(|(project, _)| project.to_string())
            .collect();
        if !self.is_remote() {
            // By name, `PROJECT_NETWORK`: podman's network ls has its labels
            // as a list, which no template of ours reads.
            let networks = self.read(&self.network_ls_command())?;
            let projects = networks.lines().filter_map(|network| network.split_once('_').map(|(project, _)| project));
            let runs = projects.filter(|project| project::pid_of_unique(project, run_prefix).is_some_and(pid_is_gone));
            gone.extend(runs.map(str::to_string));
        }
        gone.sort();
        gone.dedup();
        Ok(gone)
    }

    fn network_ls_command(&self) -> CommandLine {
        self.cli().args(["network", "ls", "--filter", &format!("label={PROJECT_LABEL}"), "--format", "{{.Name}}"])
    }
}

/// A `podman system service` on a socket of our own, for Compose; it
/// ends with this guard.
struct PodmanSocket {
    child: Child,
    path: Utf8PathBuf,
}

impl PodmanSocket {
    fn start() -> Result<PodmanSocket> {
        // A socket's path may not be longer than 107 bytes: not under the checkout.
        let dir = Utf8PathBuf::try_from(std::env::temp_dir()).context("the temporary folder's path is not UTF-8")?;
        let path = dir.join(format!("{}.sock", project::unique_name("xtask-podman")));
        // No time limit: the guard ends it, or the kernel when we end (a
        // SIGKILL too). Its log is not shown: without systemd it logs an
        // error for every healthcheck timer it cannot remove, and Compose
        // says what went wrong with a request.
        let line = CommandLine::new("podman").args(["system", "service", "--time=0", &format!("unix://{path}")]);
        let child = process::spawn_tied(&line).context("cannot start podman's API service for Compose")?;
        let socket = PodmanSocket { child, path };
        let answers = || std::os::unix::net::UnixStream::connect(&socket.path).is_ok();
        match Wait::new(Duration::from_secs(15), Duration::from_millis(50)).until(|_| Ok(answers().then_some(())))? {
            Some(()) => Ok(socket),
            None => bail!("podman's API service did not answer on {} within 15 s", socket.path),
        }
    }
}

impl Drop for PodmanSocket {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One Compose project: a stack of a file, under a name of its own.
pub struct Project {
    engine: Engine,
    name: String,
    files: Vec<Utf8PathBuf>,
    /// Variables for the file's interpolation; the secret ones are masked.
    env: Vec<(String, String, bool)>,
    podman: Option<PodmanSocket>,
    /// Files of our own among `files`, removed with the project.
    own_files: Vec<Utf8PathBuf>,
}

impl Drop for Project {
    fn drop(&mut self) {
        for file in &self.own_files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A container of the project, as `docker compose ps` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackContainer {
    pub name: String,
    pub service: String,
    /// `running`, `exited`, `restarting`, …
    pub state: String,
    #[serde(default)]
    pub health: String,
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub publishers: Option<Vec<Publisher>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Publisher {
    pub target_port: u16,
    pub published_port: u16,
}

impl StackContainer {
    /// The host port that publishes container port `target`.
    pub fn published(&self, target: u16) -> Option<u16> {
        let mut publishers = self.publishers.iter().flatten();
        publishers.find(|p| p.target_port == target && p.published_port != 0).map(|p| p.published_port)
    }
}

/// `ps --format json`: an array before Compose 2.21, a line per container since.
fn parse_ps(json: &str) -> Result<Vec<StackContainer>> {
    let json = json.trim();
    if json.starts_with('[') {
        return Ok(serde_json::from_str(json)?);
    }
    json.lines().filter(|l| !l.trim().is_empty()).map(|l| Ok(serde_json::from_str(l)?)).collect()
}

impl Project {
    /// Project `name` of the Compose files `files` on `engine`.
    pub fn new(engine: &Engine, name: String, files: Vec<Utf8PathBuf>) -> Result<Project> {
        let podman = match engine.kind().can().compose {
            ComposeVia::Service => Some(PodmanSocket::start()?),
            ComposeVia::Daemon => None,
        };
        Ok(Project { engine: engine.clone(), name, files, env: Vec::new(), podman, own_files: Vec::new() })
    }

    /// Project `name` as the engine knows it, whatever file made it: to
    /// take down a stack whose run is gone.
    pub fn by_name(engine: &Engine, name: String) -> Result<Project> {
        Project::new(engine, name, Vec::new())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A variable the file reads (`${KEY}`).
    pub fn set(&mut self, key: &str, value: &str) {
        self.set_as(key, value, false);
    }

    /// A variable whose value is a secret: masked wherever it is shown.
    pub fn set_secret(&mut self, key: &str, value: &str) {
        self.set_as(key, value, true);
    }

    fn set_as(&mut self, key: &str, value: &str, secret: bool) {
        self.env.retain(|(k, _, _)| k != key);
        self.env.push((key.to_string(), value.to_string(), secret));
    }

    /// Adds a Compose file of ours, `yaml`, over the project's: it goes
    /// when the project does.
    pub fn add_override(&mut self, yaml: &str) -> Result<()> {
        // One file an override: a run may add several.
        let file = project::scratch_dir()?.join(format!("{}-{}.compose.yaml", self.name, self.own_files.len()));
        crate::sys::files::write_new(&file, yaml, 0o644)?;
        self.files.push(file.clone());
        self.own_files.push(file);
        Ok(())
    }

    fn command(&self) -> CommandLine {
        let mut line = CommandLine::new("docker");
        if let Some(socket) = &self.podman {
            line = line.env("DOCKER_HOST", &format!("unix://{}", socket.path));
        }
        for (key, value, secret) in &self.env {
            line = if *secret { line.masked_env(key, value) } else { line.env(key, value) };
        }
        line = line.args(["compose", "--project-name", &self.name]);
        for file in &self.files {
            line = line.args(["--file", file.as_str()]);
        }
        if self.files.is_empty() {
            // A folder without a Compose file: Compose then reads none, and
            // goes by the project's name alone.
            let empty = std::env::temp_dir().join("xtask-no-compose-file");
            let _ = std::fs::create_dir_all(&empty);
            line = line.args(["--project-directory", &empty.to_string_lossy()]);
        }
        line
    }

    /// Runs `line`, failing with Compose's own last lines.
    fn run(&self, line: &CommandLine) -> Result<String> {
        let ran = process::output(line)?;
        let said = String::from_utf8_lossy(&ran.stderr);
        if !ran.status.success() {
            if says_no_compose(&said) {
                bail!(NO_COMPOSE);
            }
            bail!("{}", compose_failure(&said));
        }
        Ok(String::from_utf8_lossy(&ran.stdout).into_owned())
    }

    fn config_command(&self) -> CommandLine {
        self.command().args(["config", "--format", "json"])
    }

    /// The model with its variables set, as the engine will get it.
    pub fn config(&self) -> Result<Vec<u8>> {
        Ok(self.run(&self.config_command())?.into_bytes())
    }

    fn up_command(&self, services: &[&str], pull: bool) -> CommandLine {
        let line = self.command().args(["up", "--detach", "--no-deps", "--no-build"]);
        let line = if pull { line } else { line.args(["--pull", "never"]) };
        line.args(services.iter().copied())
    }

    /// Creates and starts `services`, without waiting for what they
    /// depend on: the caller starts each once its dependencies are ready.
    /// With `pull` false, an image that is missing is not pulled.
    pub fn up(&self, services: &[&str], pull: bool) -> Result<()> {
        self.run(&self.up_command(services, pull)).map(drop)
    }

    /// `up --detach --wait`, as a user of Compose alone starts the stack:
    /// milliseconds until every service was running, healthy or done.
    pub fn up_and_wait(&self) -> Result<f64> {
        let clock = Instant::now();
        self.run(&self.command().args(["up", "--detach", "--wait", "--no-build", "--pull", "never"]))?;
        Ok(crate::sys::millis(clock.elapsed()))
    }

    fn run_command(&self, service: &str, name: &str, publish: &str) -> CommandLine {
        let line = self.command().args(["run", "--detach", "--no-deps", "--name", name, "--publish", publish]);
        let line = line.args(label(MANAGED, "true")).args(label(TASK, "watch")).args(label(OWNER, &this_owner()));
        line.arg(service)
    }

    /// Starts a one-off container of `service` beside the project's own
    /// (its networks, variables and secrets), publishing its port `port`
    /// on `host_port` (None: a free one): the guard removes it. It is
    /// ours alone, so a run that is killed has it swept as any of ours.
    pub fn run_beside(&self, service: &str, port: u16, host_port: Option<u16>) -> Result<Container> {
        let name = project::unique_name(&format!("{}-{service}-next", self.name));
        let published = host_port.map_or(String::new(), |p| p.to_string());
        let publish = format!("{}:{published}:{port}", self.engine.published_host());
        let container = Container::guard(&self.engine, name.clone(), port, host_port);
        self.run(&self.run_command(service, &name, &publish))
            .with_context(|| format!("Compose could not start a new container of {service}"))?;
        Ok(container)
    }

    pub fn ps(&self) -> Result<Vec<StackContainer>> {
        parse_ps(&self.run(&self.command().args(["ps", "--all", "--format", "json"]))?)
    }

    /// Follows the logs of every service, to our stderr, masked.
    pub fn follow_logs(&self) -> Result<Child> {
        process::spawn_to_stderr(&self.command().args(["logs", "--follow", "--tail", "20"]))
    }

    /// Runs `argv` in `container`: whether it exited 0, and its stdout.
    pub fn exec(&self, container: &str, argv: &[String]) -> (bool, String) {
        let line = self.engine.cli().args(["exec", container]).args(argv.iter().cloned());
        match process::output(&line) {
            Ok(ran) => (ran.status.success(), String::from_utf8_lossy(&ran.stdout).trim().to_string()),
            Err(_) => (false, String::new()),
        }
    }

    /// A stack whose data goes with it (`--volumes`: `smoke --stack`'s own,
    /// `down --volumes`) has nothing to stop gracefully: its services are
    /// killed at once, where a service that ignores SIGTERM (or is still
    /// starting when a signal ends the run) would hold the teardown 10 s.
    /// `docker compose watch`, Compose's own dev loop, for the bench to
    /// time beside ours; it ends when the group is dropped.
    pub fn watch(&self) -> Result<process::Group> {
        process::Group::spawn(&self.command().arg("watch"), false)
    }

    fn down_command(&self, volumes: bool) -> CommandLine {
        let timeout = if volumes { "0" } else { "10" };
        let line = self.command().args(["down", "--remove-orphans", "--timeout", timeout]);
        line.args(volumes.then_some("--volumes")).cleanup()
    }

    /// Stops and removes the project's containers and networks, and with
    /// `volumes` its named volumes: its data.
    pub fn down(&self, volumes: bool) -> Result<()> {
        self.run(&self.down_command(volumes)).map(drop)
    }

    /// The labels that tie a run's containers to it, for the override file.
    pub fn owner_labels() -> [(&'static str, String); 2] {
        [(MANAGED, "true".to_string()), (STACK_OWNER, this_owner())]
    }
}

/// Compose's own error, in one line: its last lines without the progress.
fn compose_failure(stderr: &str) -> String {
    let said: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| !line.starts_with("Container ") && !line.starts_with("Network ") && !line.starts_with("Volume "))
        .collect();
    text::last_lines(&said.join("\n"), 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_asked_of_compose_with_variables_as_written() {
        let line = Engine::of(crate::engine::Kind::Podman).compose_config_command("/p/compose.yaml".into());
        assert_eq!(line.to_string(), "docker compose --file /p/compose.yaml config --format json --no-interpolate");
    }

    #[test]
    fn a_project_s_commands() {
        let podman = Engine::of(crate::engine::Kind::Podman);
        assert_eq!(
            podman.network_ls_command().to_string(),
            "podman network ls --filter label=com.docker.compose.project --format {{.Name}}"
        );
        let engine = Engine::default();
        let mut project = Project::new(&engine, "xtask-smoke-1".into(), vec!["/p/compose.yaml".into()]).unwrap();
        project.set("API_IMAGE", "sha256:abc");
        project.set_secret("POSTGRES_PASSWORD", "s3cret");
        assert_eq!(
            project.up_command(&["postgres", "redis"], false).to_string(),
            "API_IMAGE=sha256:abc POSTGRES_PASSWORD=*** docker compose --project-name xtask-smoke-1 --file \
             /p/compose.yaml up --detach --no-deps --no-build --pull never postgres redis"
        );
        assert!(project.down_command(true).to_string().ends_with("down --remove-orphans --timeout 0 --volumes"));
        assert!(project.down_command(false).to_string().ends_with("down --remove-orphans --timeout 10"));
        let run = project.run_command("api", "xtask-smoke-1-api-next-7", "127.0.0.1::8000").to_string();
        assert!(
            run.ends_with(&format!(
                "run --detach --no-deps --name xtask-smoke-1-api-next-7 --publish 127.0.0.1::8000 --label \
                 dev.xtask.managed=true --label dev.xtask.task=watch --label dev.xtask.owner={} api",
                this_owner()
            )),
            "{run}"
        );
        assert!(project.config_command().to_string().ends_with("config --format json"));
    }

    #[test]
    fn ps_is_read_in_both_of_compose_s_shapes() {
        let line = r#"{"Name":"p-api-1","Service":"api","State":"running","Health":"","ExitCode":0,"Publishers":[{"URL":"127.0.0.1","TargetPort":8000,"PublishedPort":49153,"Protocol":"tcp"}]}"#;
        let lines = parse_ps(&format!("{line}\n{line}\n")).unwrap();
        let array = parse_ps(&format!("[{line}]")).unwrap();
        assert_eq!((lines.len(), array.len()), (2, 1));
        assert_eq!(array[0].published(8000), Some(49153));
        assert_eq!(array[0].published(9000), None);
    }

    #[test]
    fn compose_s_errors_in_a_line() {
        let said = " Container p-db-1  Creating\nError response from daemon: driver failed programming external \
                    connectivity: Bind for 0.0.0.0:8000 failed: port is already allocated\n";
        assert_eq!(
            compose_failure(said),
            "Error response from daemon: driver failed programming external connectivity: Bind for 0.0.0.0:8000 \
             failed: port is already allocated"
        );
        assert!(says_no_compose("docker: 'compose' is not a docker command."));
    }
}
