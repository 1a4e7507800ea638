//! The one entry point to the container engine. Every engine call goes
//! through an `Engine`, which builds its command line as data (unit-tested
//! as a string) and runs it through `sys::process`; read-only questions
//! take the engine's API socket where it can answer them.

mod api;
pub mod build;
pub mod container;
mod diagnose;
mod inspect;
pub mod offline;
pub mod reference;

use anyhow::{bail, Result};

pub use self::inspect::{ImageConfig, ImageInfo};
use crate::sys::process::{self, CommandLine};

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

    fn version_command(&self) -> CommandLine {
        self.cli().args(["version", "--format", "{{.Server.Version}}"])
    }

    /// The engine's version; fails with directions when none answers.
    /// Most tasks ask only after an engine call failed, so that the happy
    /// path pays nothing for it; `stop` and `bench` ask first.
    pub fn version(&self) -> Result<String> {
        let Ok(output) = process::output(&self.version_command()) else {
            bail!("The docker client is not installed: install Docker (https://docs.docker.com/engine/install/).")
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

    fn image_rm_command(&self, images: &[&str]) -> CommandLine {
        self.cli().args(["image", "rm"]).args(images.iter().copied())
    }

    /// Removes tags (and the images no other tag holds), or images by id;
    /// what is already gone is no error.
    pub fn remove_images(&self, images: &[&str]) {
        if !images.is_empty() {
            let _ = process::output(&self.image_rm_command(images));
        }
    }

    fn dangling_command(&self) -> CommandLine {
        self.cli().args(["image", "ls", "--quiet", "--no-trunc", "--filter", "dangling=true"])
    }

    /// Ids of the untagged images that no other image is built on.
    pub fn dangling_images(&self) -> Vec<String> {
        let listed = process::read(&self.dangling_command()).unwrap_or_default();
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
        assert_eq!(engine.image_rm_command(&["a:1", "sha256:b"]).to_string(), "docker image rm a:1 sha256:b");
        assert_eq!(engine.dangling_command().to_string(), "docker image ls --quiet --no-trunc --filter dangling=true");
    }
}
