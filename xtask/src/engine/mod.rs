//! The one entry point to the container engine. Every engine call goes
//! through an `Engine`, which builds its command line as data (unit-tested
//! as a string) and runs it through `sys::process`; read-only questions
//! take the engine's API socket where it can answer them.

mod api;
pub mod build;
pub mod container;
mod diagnose;
pub mod dockerfile;
mod inspect;
pub mod offline;
pub mod reference;
mod service_log;

use anyhow::{bail, Result};

pub use self::inspect::{ImageConfig, ImageInfo};
use crate::sys::process::{self, CommandLine, Ran};

/// Whether `error` says that a program could not be found.
fn not_found(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound))
}

/// Diagnoses `text` as a failed build's output, with `text` as its
/// Dockerfile too: for the fuzz targets.
#[cfg(fuzzing)]
pub fn diagnose_only(text: &str) {
    let situation = diagnose::Situation {
        context: "/ctx".into(),
        offline: text.len() % 2 == 0,
        dockerfile: text.to_string(),
        build_args: Default::default(),
        bases_python: Some("3.11".into()),
    };
    diagnose::build_failure(text, &situation);
}

/// How the engine builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    Legacy,
    BuildKit,
}

/// The docker CLI, and the engine it talks to.
#[derive(Debug, Clone)]
pub struct Engine {
    program: String,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine { program: "docker".to_string() }
    }
}

impl Engine {
    /// A command line of the engine's CLI, without arguments yet.
    fn cli(&self) -> CommandLine {
        CommandLine::new(&self.program)
    }

    fn buildx_command(&self) -> CommandLine {
        self.cli().args(["buildx", "version"])
    }

    /// The builder `build` uses: DOCKER_BUILDKIT decides when set; else
    /// BuildKit when the client has buildx (the default since Docker 23),
    /// and the legacy builder when it has not.
    pub fn builder(&self) -> Builder {
        match std::env::var("DOCKER_BUILDKIT").as_deref().map(str::trim) {
            Ok("1" | "true") => Builder::BuildKit,
            Ok("0" | "false") => Builder::Legacy,
            _ if process::output(&self.buildx_command()).is_ok_and(|ran| ran.status.success()) => Builder::BuildKit,
            _ => Builder::Legacy,
        }
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
                "The {} client is not installed: install Docker (https://docs.docker.com/engine/install/).",
                self.program
            ),
            Err(error) => return Err(error),
        };
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            let said = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer").trim();
            bail!(
                "No Docker engine answers ({said}). Start one (`sudo systemctl start docker`, or `sudo dockerd &`) \
                 or point DOCKER_HOST at a running engine."
            );
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_commands() {
        let engine = Engine::default();
        assert_eq!(engine.version_command().to_string(), "docker version --format {{.Server.Version}}");
        assert_eq!(engine.buildx_command().to_string(), "docker buildx version");
        assert_eq!(engine.image_rm_command(&["a:1", "sha256:b"]).to_string(), "docker image rm a:1 sha256:b");
        assert_eq!(engine.dangling_command().to_string(), "docker image ls --quiet --no-trunc --filter dangling=true");
    }
}
