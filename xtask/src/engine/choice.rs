//! Which engine a task talks to: `--engine` or `XTASK_ENGINE` when given;
//! else Docker when a Docker engine answers, podman when it is installed
//! (it needs no service running), and Docker again when neither is there,
//! whose errors then say how to get one.

use std::path::Path;

use super::{api, Engine};
use crate::sys::process;

/// The engines we speak to, by their CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Podman,
}

impl Kind {
    pub fn name(self) -> &'static str {
        self.can().cli
    }

    pub fn parse(name: &str) -> Result<Kind, String> {
        let wanted = name.trim().to_ascii_lowercase();
        Kind::ALL.into_iter().find(|kind| kind.name() == wanted).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|kind| kind.name()).collect();
            format!("`{name}` is not an engine we know: say {}", known.join(" or "))
        })
    }
}

/// What the command line (or XTASK_ENGINE) asked for, checked before the
/// task runs; the engine itself is found when it runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice(Option<Kind>);

impl Choice {
    /// `--engine NAME` if given, else `XTASK_ENGINE`, else none: detect.
    pub fn of(flag: Option<&str>) -> Result<Choice, String> {
        let named = flag.map(str::to_string).or_else(|| std::env::var("XTASK_ENGINE").ok().filter(|v| !v.is_empty()));
        Ok(Choice(named.as_deref().map(Kind::parse).transpose()?))
    }

    /// The engine asked for, or `default` where none was: for `setup`,
    /// which makes an engine rather than detects one.
    pub fn engine_or(self, default: Kind) -> Engine {
        Engine::of(self.0.unwrap_or(default))
    }

    pub fn engine(self) -> Engine {
        Engine::of(self.0.unwrap_or_else(detect))
    }
}

fn detect() -> Kind {
    if std::env::var("DOCKER_HOST").is_ok_and(|host| !host.is_empty()) {
        return Kind::Docker;
    }
    let docker_answers = match api::ping() {
        Some(answers) => answers,
        // A docker context we cannot read: ask the CLI.
        None => process::output(&Engine::of(Kind::Docker).version_command()).is_ok_and(|ran| ran.status.success()),
    };
    match docker_answers || !on_path("podman") {
        true => Kind::Docker,
        false => Kind::Podman,
    }
}

/// Whether an executable `program` is in one of PATH's folders.
pub fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_named() {
        assert_eq!(Kind::parse("Podman").unwrap(), Kind::Podman);
        assert_eq!(Kind::parse("docker").unwrap(), Kind::Docker);
        let error = Kind::parse("containerd").unwrap_err();
        assert!(error.starts_with("`containerd` is not an engine we know"), "{error}");
        assert_eq!(Choice::of(Some("podman")).unwrap().engine().kind(), Kind::Podman);
    }

    #[test]
    fn programs_are_found_on_the_path() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-xtask"));
    }
}
