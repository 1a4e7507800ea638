//! The one entry point to the container engine. Every engine call goes
//! through an `Engine`, which builds its command line as data (unit-tested
//! as a string) and runs it through `sys::process`; read-only questions
//! take the engine's API socket where it can answer them.

mod api;
pub mod archive;
pub mod build;
pub mod capabilities;
pub mod choice;
pub mod compose;
pub mod container;
pub mod daemon;
mod inspect;
pub mod push;
mod transfer;

use anyhow::{bail, Result};

pub use self::{
    choice::Kind,
    inspect::{ImageConfig, ImageInfo},
};
use crate::sys::process::{self, CommandLine, Ran};

/// Whether `error` says that a program could not be found.
fn not_found(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound))
}

/// How the engine builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    Legacy,
    BuildKit,
    /// podman's.
    Buildah,
}

impl Builder {
    pub fn name(self) -> &'static str {
        match self {
            Builder::Legacy => "the legacy builder",
            Builder::BuildKit => "BuildKit",
            Builder::Buildah => "Buildah",
        }
    }
}

/// An engine's CLI, and the engine it talks to.
#[derive(Debug, Clone)]
pub struct Engine {
    kind: Kind,
    /// The engine's host, when it is another machine (DOCKER_HOST=tcp://…
    /// or ssh://…): where the ports it publishes are.
    remote: Option<String>,
    /// The CLI's `--host`, when it must not follow DOCKER_HOST.
    host_flag: Option<String>,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine { kind: Kind::Docker, remote: None, host_flag: None }
    }
}

impl Engine {
    /// The engine `kind`; Docker's host is DOCKER_HOST's, as its CLI reads it.
    pub fn of(kind: Kind) -> Engine {
        let remote = match kind.can().follows_docker_host {
            true => std::env::var("DOCKER_HOST").ok().and_then(|host| remote_host(&host)),
            false => None,
        };
        Engine { kind, remote, host_flag: None }
    }

    /// The Docker engine on this machine, when this engine is another one
    /// (podman, or a remote Docker) and that one answers: offline base
    /// images are copied from it rather than made again.
    pub fn local_docker(&self) -> Option<Engine> {
        let other = !self.kind.can().docker_api || self.is_remote();
        (other && api::ping_socket(std::path::Path::new(api::DEFAULT_SOCKET))).then(Engine::docker_here)
    }

    /// Docker on this machine's default socket, whatever DOCKER_HOST says.
    fn docker_here() -> Engine {
        let host_flag = Some(format!("unix://{}", api::DEFAULT_SOCKET));
        Engine { kind: Kind::Docker, remote: None, host_flag }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The engine, as messages name it: `docker`, `podman`, `docker at HOST`.
    pub fn name(&self) -> String {
        match &self.remote {
            Some(host) => format!("{} at {host}", self.kind.name()),
            None => self.kind.name().to_string(),
        }
    }

    /// What tells this engine from the others this machine's CLIs may talk
    /// to: its kind, and where its CLI sends its calls (`--host`, else
    /// DOCKER_HOST or a docker context for Docker, CONTAINER_HOST for
    /// podman), the default socket spelled out or not being one engine.
    /// What it cannot tell apart (the current context of a docker config
    /// file) is one engine here: two engines then share a name, never one
    /// engine two.
    pub fn identity(&self) -> String {
        self.identity_in(|var| std::env::var(var).ok().filter(|value| !value.is_empty()))
    }

    /// `identity`, with the environment's variables read by `var`.
    fn identity_in(&self, var: impl Fn(&str) -> Option<String>) -> String {
        let default_socket = format!("unix://{}", api::DEFAULT_SOCKET);
        let address = match self.kind {
            Kind::Docker => self.host_flag.clone().or_else(|| var("DOCKER_HOST")).or_else(|| {
                var("DOCKER_CONTEXT").filter(|context| context != "default").map(|context| format!("context {context}"))
            }),
            Kind::Podman => var("CONTAINER_HOST"),
        };
        let address = address.filter(|address| *address != default_socket).unwrap_or_else(|| "local".into());
        format!("{} {address}", self.kind.name())
    }

    /// Where the ports the engine publishes are, from here: loopback for
    /// an engine on this machine (a service under test is nobody else's
    /// business), the engine's host for a remote one.
    pub fn published_host(&self) -> &str {
        self.remote.as_deref().unwrap_or("127.0.0.1")
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// A command line of the engine's CLI, without arguments yet.
    fn cli(&self) -> CommandLine {
        let line = CommandLine::new(self.kind.name());
        line.args(self.host_flag.iter().flat_map(|host| ["--host", host.as_str()]))
    }

    /// The engine's API, for read-only questions: the socket the docker CLI
    /// would use, and so never for podman, nor for a CLI told its `--host`.
    fn api_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Option<Option<T>> {
        match self.kind.can().docker_api && self.host_flag.is_none() {
            true => api::get(path),
            false => None,
        }
    }

    fn buildx_command(&self) -> CommandLine {
        self.cli().args(["buildx", "version"])
    }

    /// The builder `build` uses. podman's is Buildah. For Docker,
    /// DOCKER_BUILDKIT decides when set; else BuildKit when the client has
    /// buildx (the default since Docker 23), and the legacy builder when it
    /// has not.
    pub fn builder(&self) -> Builder {
        if let Some(builder) = self.kind.can().fixed_builder {
            return builder;
        }
        match std::env::var("DOCKER_BUILDKIT").as_deref().map(str::trim) {
            Ok("1" | "true") => Builder::BuildKit,
            Ok("0" | "false") => Builder::Legacy,
            _ if self.has_buildx() => Builder::BuildKit,
            _ => Builder::Legacy,
        }
    }

    /// Whether the Docker client has buildx, which builds with BuildKit.
    pub fn has_buildx(&self) -> bool {
        process::output(&self.buildx_command()).is_ok_and(|ran| ran.status.success())
    }

    fn version_command(&self) -> CommandLine {
        self.cli().args(["version", "--format", "{{.Server.Version}}"])
    }

    /// The engine's version; fails with directions when none answers.
    /// Most tasks ask only after an engine call failed, so that the happy
    /// path pays nothing for it; `stop` and `bench` ask first.
    pub fn version(&self) -> Result<String> {
        let output = match process::output(&self.version_command()) {
            Ok(output) => output,
            Err(error) if not_found(&error) => bail!(
                "The {cli} client is not installed: `cargo xtask setup --engine {cli}` installs it, or give another \
                 --engine.",
                cli = self.kind.name()
            ),
            Err(error) => return Err(error),
        };
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            let said = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer").trim();
            let can = self.kind.can();
            match can.daemon {
                Some(_) => bail!(
                    "No {} engine answers ({said}). Start one (`cargo xtask setup --engine {}` does), {}or give \
                     another --engine.",
                    can.title,
                    can.cli,
                    if can.follows_docker_host { "point DOCKER_HOST at a running engine, " } else { "" }
                ),
                None => bail!("{cli} does not work here ({said}): `{cli} info` says more.", cli = can.cli),
            }
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Runs an engine command; when it fails because no engine answers,
    /// the error is the sentence that says so, not the command's own.
    fn output(&self, line: &CommandLine) -> Result<Ran> {
        process::output(line).or_else(|error| self.explain(error))
    }

    /// The trimmed stdout of an engine command, as `output` explains failures.
    fn read(&self, line: &CommandLine) -> Result<String> {
        process::read(line).or_else(|error| self.explain(error))
    }

    /// An engine command whose output a person follows, as `output` explains failures.
    fn stream(&self, line: &CommandLine) -> Result<Ran> {
        process::stream(line).or_else(|error| self.explain(error))
    }

    /// `error`, unless no engine answers: then the sentence that says so.
    fn explain<T>(&self, error: anyhow::Error) -> Result<T> {
        self.version()?;
        Err(error)
    }

    fn image_rm_command(&self, images: &[&str]) -> CommandLine {
        self.cli().args(["image", "rm"]).args(images.iter().copied()).cleanup()
    }

    /// Removes tags (and the images no other tag holds), or images by id;
    /// what is already gone is no error.
    pub fn remove_images(&self, images: &[&str]) {
        if !images.is_empty() {
            let _ = self.output(&self.image_rm_command(images));
        }
    }

    fn dangling_command(&self) -> CommandLine {
        self.cli().args(["image", "ls", "--quiet", "--no-trunc", "--filter", "dangling=true"]).cleanup()
    }

    /// Ids of the untagged images that no other image is built on.
    pub fn dangling_images(&self) -> Vec<String> {
        let listed = self.read(&self.dangling_command()).unwrap_or_default();
        listed.lines().map(str::to_string).collect()
    }

    /// Removes those of `images` (ids, whole or short) that no tag names
    /// and no other image stands on, each with the untagged parents only
    /// it stood on, never forced: one that another run tagged, or built
    /// on, stays. (A tag put on one between the listing and the removal
    /// is the one it would not see.)
    pub fn remove_unused(&self, images: &[String]) {
        // Removing one can leave another of them unused: the image a later
        // one was built FROM (BuildKit records no parent, so no removal
        // takes it along). Again until none is left, each tried once.
        let mut tried: Vec<String> = Vec::new();
        loop {
            let unused: Vec<String> =
                among(self.dangling_images(), images).into_iter().filter(|id| !tried.contains(id)).collect();
            if unused.is_empty() {
                return;
            }
            self.remove_images(&unused.iter().map(String::as_str).collect::<Vec<_>>());
            tried.extend(unused);
        }
    }
}

/// Those of `listed` (whole ids) that are one of `images` (whole or short).
fn among(listed: Vec<String>, images: &[String]) -> Vec<String> {
    let digits = |id: &str| id.strip_prefix("sha256:").unwrap_or(id).to_string();
    let images: Vec<String> = images.iter().map(|image| digits(image)).filter(|image| !image.is_empty()).collect();
    listed.into_iter().filter(|id| images.iter().any(|image| digits(id).starts_with(image.as_str()))).collect()
}

/// The host of a remote DOCKER_HOST (`tcp://HOST:PORT`, `ssh://[USER@]HOST[:PORT]`),
/// as an address to publish on and to reach: a name is resolved here, so
/// that `--publish` gets the address we reach the host at.
fn remote_host(docker_host: &str) -> Option<String> {
    let rest = docker_host.strip_prefix("tcp://").or_else(|| docker_host.strip_prefix("ssh://"))?;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(host.to_string());
    }
    use std::net::ToSocketAddrs;
    let resolved = (host, 0).to_socket_addrs().ok()?.map(|address| address.ip()).min_by_key(|ip| ip.is_ipv6());
    Some(resolved.map_or_else(|| host.to_string(), |ip| ip.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_hosts_are_read_from_docker_host() {
        assert_eq!(remote_host("tcp://10.231.7.2:2375").as_deref(), Some("10.231.7.2"));
        assert_eq!(remote_host("ssh://deploy@10.0.0.9:2222").as_deref(), Some("10.0.0.9"));
        assert_eq!(remote_host("ssh://localhost").as_deref(), Some("127.0.0.1"));
        assert_eq!(remote_host("tcp://[fd00::5]:2376").as_deref(), Some("fd00::5"));
        assert_eq!(remote_host("unix:///var/run/docker.sock"), None);
        let podman = Engine::of(Kind::Podman);
        assert_eq!(
            (podman.name(), podman.published_host(), podman.builder()),
            ("podman".into(), "127.0.0.1", Builder::Buildah)
        );
    }

    #[test]
    fn an_engine_is_told_by_its_kind_and_where_its_cli_calls() {
        let identity = |kind, vars: &[(&str, &str)]| {
            let vars: std::collections::BTreeMap<String, String> =
                vars.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
            Engine::of(kind).identity_in(|var| vars.get(var).cloned())
        };
        let here = identity(Kind::Docker, &[]);
        assert_eq!(here, "docker local");
        assert_eq!(identity(Kind::Docker, &[("DOCKER_HOST", "unix:///var/run/docker.sock")]), here);
        assert_eq!(identity(Kind::Docker, &[("DOCKER_CONTEXT", "default")]), here);
        let remote = identity(Kind::Docker, &[("DOCKER_HOST", "tcp://10.231.7.2:2375")]);
        assert_eq!(remote, "docker tcp://10.231.7.2:2375");
        assert_ne!(remote, identity(Kind::Docker, &[("DOCKER_HOST", "tcp://10.231.7.2:2376")]));
        assert_eq!(identity(Kind::Docker, &[("DOCKER_CONTEXT", "ci")]), "docker context ci");
        assert_eq!(identity(Kind::Podman, &[("DOCKER_HOST", "tcp://10.231.7.2:2375")]), "podman local");
        assert_eq!(
            identity(Kind::Podman, &[("CONTAINER_HOST", "ssh://u@h/run/podman.sock")]),
            "podman ssh://u@h/run/podman.sock"
        );
        assert_eq!(Engine::docker_here().identity_in(|_| Some("tcp://elsewhere:2375".into())), here);
    }

    #[test]
    fn images_are_found_by_their_whole_or_short_id() {
        let (a, b) =
            (format!("sha256:8bd281339caa{}", "1".repeat(52)), format!("sha256:58c4371b4bf3{}", "2".repeat(52)));
        let listed = vec![a.clone(), b.clone(), format!("sha256:{}", "3".repeat(64))];
        assert_eq!(among(listed.clone(), &["8bd281339caa".into(), b.clone(), String::new()]), [a, b]);
        assert!(among(listed, &[]).is_empty());
    }

    #[test]
    fn image_commands() {
        let engine = Engine::default();
        assert_eq!(engine.version_command().to_string(), "docker version --format {{.Server.Version}}");
        assert_eq!(engine.buildx_command().to_string(), "docker buildx version");
        assert_eq!(engine.image_rm_command(&["a:1", "sha256:b"]).to_string(), "docker image rm a:1 sha256:b");
        assert_eq!(engine.dangling_command().to_string(), "docker image ls --quiet --no-trunc --filter dangling=true");
    }
}
