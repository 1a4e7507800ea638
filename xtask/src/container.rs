//! Containers we start: their `docker run` arguments, our labels, a guard
//! that removes the container when dropped, and the sweep that removes
//! what a killed run left behind.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use xshell::{cmd, Shell};

use crate::{engine_api, project};

/// Every container we start carries it.
pub const MANAGED: &str = "dev.xtask.managed";
/// Which task started it.
pub const TASK: &str = "dev.xtask.task";
/// `host/pid/start-time` of the process whose life the container shares
/// (smoke, run --attach). A detached `run` has none: it is meant to outlive us.
pub const OWNER: &str = "dev.xtask.owner";

/// The tag the image was asked for by, for `stop --tag`.
pub const TAG: &str = "dev.xtask.tag";

/// What to start.
pub struct Spec<'a> {
    pub task: &'a str,
    /// What to run: an id, so that a concurrent build of the tag cannot swap it.
    pub image: &'a str,
    pub tag: Option<&'a str>,
    /// None: a free port, chosen by the engine.
    pub host_port: Option<u16>,
    pub env: BTreeMap<String, String>,
    /// The container goes when this process goes.
    pub owned: bool,
    /// A read-only root file system, with a tmpfs for /tmp.
    pub read_only: bool,
}

impl<'a> Spec<'a> {
    /// The usual container: lives as long as this process, on a free port.
    pub fn owned(task: &'a str, image: &'a str) -> Spec<'a> {
        Spec { task, image, tag: None, host_port: None, env: BTreeMap::new(), owned: true, read_only: false }
    }
}

impl Spec<'_> {
    /// `docker run`'s arguments. The port is published on 127.0.0.1 only:
    /// a service under test is nobody else's business.
    pub fn run_argv(&self, name: &str, owner: &str) -> Vec<String> {
        let mut argv: Vec<String> = ["run", "--detach", "--name", name, "--label"].map(String::from).to_vec();
        argv.push(format!("{MANAGED}=true"));
        argv.extend(["--label".to_string(), format!("{TASK}={}", self.task)]);
        if self.owned {
            argv.extend(["--label".to_string(), format!("{OWNER}={owner}")]);
        }
        if let Some(tag) = self.tag {
            argv.extend(["--label".to_string(), format!("{TAG}={tag}")]);
        }
        if self.read_only {
            argv.extend(["--read-only", "--tmpfs", "/tmp"].map(String::from));
        }
        let port = self.host_port.map_or(String::new(), |p| p.to_string());
        argv.extend(["--publish".to_string(), format!("127.0.0.1:{port}:8000")]);
        for (key, value) in &self.env {
            argv.extend(["--env".to_string(), format!("{key}={value}")]);
        }
        argv.push(self.image.to_string());
        argv
    }
}

/// A started container. Dropping it removes the container, unless it was
/// `keep()`-ed; so every early return, error and signal tears it down.
pub struct Container<'sh> {
    sh: &'sh Shell,
    pub name: String,
    pub id: String,
    keep: bool,
}

impl<'sh> Container<'sh> {
    pub fn start(sh: &'sh Shell, spec: &Spec<'_>) -> Result<Container<'sh>> {
        if let Some(port) = spec.host_port {
            // docker's own wording for a busy port differs between versions.
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "Port {port} on 127.0.0.1 is busy. Choose another with --port, or leave --port out for a free one."
                );
            }
        }
        let name = project::unique_name(&format!("xtask-{}", spec.task));
        let argv = spec.run_argv(&name, &owner_of(std::process::id()).unwrap_or_default());
        let output = cmd!(sh, "docker {argv...}").quiet().ignore_status().output()?;
        // Guard first: even a failed `docker run` may have created the container.
        let mut container = Container { sh, name, id: String::new(), keep: false };
        if !output.status.success() {
            bail!("docker run failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        container.id = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok(container)
    }

    /// The host port that 8000 is published on.
    pub fn host_port(&self) -> Result<u16> {
        let name = &self.name;
        let published = cmd!(self.sh, "docker port {name} 8000/tcp").quiet().read()?;
        parse_port(&published).with_context(|| format!("cannot read the published port from `{published}`"))
    }

    /// The exit code, once the container has stopped.
    pub fn exit_code(&self) -> Result<Option<i64>> {
        let name = &self.name;
        // Asked every turn of the readiness loop: the API answers in a millisecond.
        if let Some(Some(info)) = engine_api::get::<ContainerInfo>(&format!("/containers/{name}/json")) {
            return Ok((!info.state.running).then_some(info.state.exit_code));
        }
        let format = "{{.State.Running}} {{.State.ExitCode}}";
        let state = cmd!(self.sh, "docker container inspect --format {format} {name}").quiet().read()?;
        Ok(match state.split_once(' ') {
            Some(("false", code)) => code.parse().ok(),
            _ => None,
        })
    }

    /// The last `lines` lines the service wrote, stdout and stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        let (name, lines) = (&self.name, lines.to_string());
        match cmd!(self.sh, "docker logs --tail {lines} {name}").quiet().ignore_status().output() {
            Ok(output) => {
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
                    .trim_end()
                    .to_string()
            }
            Err(_) => String::new(),
        }
    }

    /// Bytes the container wrote to its own layer, and the paths it changed.
    pub fn writes(&self) -> Result<(u64, Vec<String>)> {
        let name = &self.name;
        let format = "{{.SizeRw}}";
        let size = cmd!(self.sh, "docker container inspect --size --format {format} {name}").quiet().read()?;
        let size = size.trim().parse().with_context(|| format!("cannot read the writable layer's size `{size}`"))?;
        let changed = if size == 0 { String::new() } else { cmd!(self.sh, "docker diff {name}").quiet().read()? };
        Ok((size, changed.lines().map(str::to_string).collect()))
    }

    /// `docker stop` (the graceful way, timed by the caller), then removal.
    pub fn stop(mut self) -> Result<Duration> {
        let name = self.name.clone();
        let started = std::time::Instant::now();
        cmd!(self.sh, "docker stop --time 10 {name}").quiet().ignore_stdout().run().context("docker stop failed")?;
        let took = started.elapsed();
        self.remove();
        self.keep = true;
        Ok(took)
    }

    /// Leaves the container running after we exit (a detached `run`).
    pub fn keep(mut self) {
        self.keep = true;
    }

    fn remove(&self) {
        let _ = remove(self.sh, std::slice::from_ref(&self.name));
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.remove();
        }
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
fn owner_is_gone(owner: &str) -> bool {
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

/// Removes the containers of our runs whose process is gone (a SIGKILL
/// leaves them behind). Returns their names.
pub fn sweep_leftovers(sh: &Shell) -> Result<Vec<String>> {
    let filter = format!("label={OWNER}");
    let format = format!("{{{{.Names}}}} {{{{.Label \"{OWNER}\"}}}}");
    let listed = cmd!(sh, "docker ps --all --filter {filter} --format {format}").quiet().read()?;
    let gone: Vec<String> = listed
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, owner)| owner_is_gone(owner))
        .map(|(name, _)| name.to_string())
        .collect();
    if !gone.is_empty() {
        eprintln!("Removing containers left by runs that were killed: {}", gone.join(", "));
        remove(sh, &gone)?;
    }
    Ok(gone)
}

/// Removes containers, running or not, with their anonymous volumes.
pub fn remove(sh: &Shell, names: &[String]) -> Result<()> {
    if !names.is_empty() {
        cmd!(sh, "docker rm --force --volumes {names...}").quiet().ignore_stdout().ignore_stderr().run()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_argv_publishes_on_loopback_and_labels() {
        let spec = Spec {
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
            read_only: true,
            tag: Some("t:1"),
            ..Spec::owned("smoke", "sha256:abc")
        };
        assert_eq!(
            spec.run_argv("n", "h/1/2").join(" "),
            "run --detach --name n --label dev.xtask.managed=true --label dev.xtask.task=smoke \
             --label dev.xtask.owner=h/1/2 --label dev.xtask.tag=t:1 --read-only --tmpfs /tmp \
             --publish 127.0.0.1::8000 --env A=1 sha256:abc"
        );
        let spec = Spec { host_port: Some(8080), owned: false, ..Spec::owned("run", "i") };
        let argv = spec.run_argv("n", "h/1/2").join(" ");
        assert!(argv.contains("--publish 127.0.0.1:8080:8000") && !argv.contains(OWNER), "{argv}");
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
