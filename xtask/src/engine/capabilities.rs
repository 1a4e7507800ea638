//! What each engine can do, and how, declared once per engine as one value
//! (as cross-rs's engine does). The rest of the code asks these questions
//! and never compares engines: a third engine is one more value here, and
//! the compiler asks for every answer it must give.

use super::{Builder, Kind};

/// How an engine's `ps --format` names one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelTemplate {
    /// Docker's `{{.Label "KEY"}}`.
    Function,
    /// podman's map, `{{index .Labels "KEY"}}`.
    Map,
}

/// Where `push` leaves the digest it pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushDigest {
    /// Docker records it with the image (`RepoDigests`).
    Recorded,
    /// podman writes it to `--digestfile`, and pushes by image id; it
    /// speaks plain HTTP to a loopback registry only when told to.
    File,
}

/// What Compose v2 talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposeVia {
    /// The engine's own API socket (or DOCKER_HOST).
    Daemon,
    /// A `podman system service` on a socket of the run's own.
    Service,
}

#[derive(Debug)]
pub struct Capabilities {
    /// The CLI's program.
    pub cli: &'static str,
    /// The engine as a sentence names it.
    pub title: &'static str,
    /// The daemon the CLI talks to on this machine, which `setup` starts;
    /// None where the CLI is the engine.
    pub daemon: Option<&'static str>,
    /// Its Debian package.
    pub package: &'static str,
    /// It follows DOCKER_HOST (and so may be another machine's).
    pub follows_docker_host: bool,
    /// Its API answers read-only questions on Docker's socket, quicker
    /// than a CLI process.
    pub docker_api: bool,
    /// The builder it always uses; None where DOCKER_BUILDKIT and buildx
    /// decide (`Engine::builder`).
    pub fixed_builder: Option<Builder>,
    /// Arguments that make its builds Docker's image format: podman builds
    /// OCI by default, and OCI has no HEALTHCHECK.
    pub docker_format: &'static [&'static str],
    /// It reads `--cache-from` images; podman keeps its own layer cache.
    pub cache_from: bool,
    /// A cancelled build leaves working containers (Buildah's, listed by
    /// `ps --external` as `Storage`), which we remove.
    pub leaves_build_containers: bool,
    pub label_template: LabelTemplate,
    /// `logs --tail` keeps a line written in pieces whole: podman 4.3's
    /// puts the pieces in the wrong places (podman#19545), so its whole
    /// log is read and cut here.
    pub logs_tail: bool,
    /// Arguments that make `rm --force` kill at once: podman stops first,
    /// giving the service 10 s.
    pub rm_at_once: &'static [&'static str],
    pub push_digest: PushDigest,
    pub compose: ComposeVia,
    /// Its runs fail on rlimits where the sandbox may not raise them
    /// (podman sets its own defaults; Docker's daemon sets none).
    pub sets_rlimits: bool,
}

const DOCKER: Capabilities = Capabilities {
    cli: "docker",
    title: "Docker",
    daemon: Some("dockerd"),
    package: "docker.io",
    follows_docker_host: true,
    docker_api: true,
    fixed_builder: None,
    docker_format: &[],
    cache_from: true,
    leaves_build_containers: false,
    label_template: LabelTemplate::Function,
    logs_tail: true,
    rm_at_once: &[],
    push_digest: PushDigest::Recorded,
    compose: ComposeVia::Daemon,
    sets_rlimits: false,
};

const PODMAN: Capabilities = Capabilities {
    cli: "podman",
    title: "podman",
    daemon: None,
    package: "podman",
    follows_docker_host: false,
    docker_api: false,
    fixed_builder: Some(Builder::Buildah),
    docker_format: &["--format", "docker"],
    cache_from: false,
    leaves_build_containers: true,
    label_template: LabelTemplate::Map,
    logs_tail: false,
    rm_at_once: &["--time", "0"],
    push_digest: PushDigest::File,
    compose: ComposeVia::Service,
    sets_rlimits: true,
};

impl Kind {
    /// Every engine we speak to.
    pub const ALL: [Kind; 2] = [Kind::Docker, Kind::Podman];

    /// What the engine can do, and how.
    pub fn can(self) -> &'static Capabilities {
        match self {
            Kind::Docker => &DOCKER,
            Kind::Podman => &PODMAN,
        }
    }
}

impl LabelTemplate {
    /// The template that prints label `key`.
    pub fn of(self, key: &str) -> String {
        match self {
            LabelTemplate::Function => format!("{{{{.Label \"{key}\"}}}}"),
            LabelTemplate::Map => format!("{{{{index .Labels \"{key}\"}}}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_declares_its_own_cli() {
        for kind in Kind::ALL {
            assert_eq!(kind.can().cli, kind.name());
        }
        assert_eq!(LabelTemplate::Map.of("k"), r#"{{index .Labels "k"}}"#);
    }
}
