//! Compose v2 (`docker compose`), as far as the tasks use it: the model of
//! a Compose file as Compose itself resolves it.

use anyhow::{bail, Result};
use camino::Utf8Path;

use super::Engine;
use crate::sys::{
    process::{self, CommandLine},
    text,
};

/// What became of asking Compose for a file's model.
pub enum ComposeModel {
    /// The resolved model, as JSON.
    Read(serde_json::Value),
    /// No Compose v2 here.
    NoCompose,
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
        if !ran.status.success() && said.contains("is not a docker command") {
            return Ok(ComposeModel::NoCompose);
        }
        if !ran.status.success() {
            bail!("Compose cannot read {file}: {}", text::last_lines(&said, 2));
        }
        Ok(ComposeModel::Read(serde_json::from_slice(&ran.stdout)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_asked_of_compose_with_variables_as_written() {
        let line = Engine::of(crate::engine::Kind::Podman).compose_config_command("/p/compose.yaml".into());
        assert_eq!(line.to_string(), "docker compose --file /p/compose.yaml config --format json --no-interpolate");
    }
}
