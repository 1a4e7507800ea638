//! The docker CLI, as the tasks use it. Our stdout carries one JSON
//! document, so no child may write there: every child's output is either
//! captured or sent to our stderr.

use std::{
    collections::BTreeMap,
    io::{self, Read, Write},
    process::{Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread,
};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use xshell::{cmd, Cmd, Shell};

use crate::engine_api;

/// Runs `cmd` with its stdout sent to our stderr, so that a person sees
/// progress and our stdout stays one JSON document.
pub fn run_to_stderr(cmd: Cmd<'_>) -> Result<()> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let mut command = Command::from(cmd);
    let status = command.stdout(io::stderr()).status().with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

pub struct Captured {
    pub status: ExitStatus,
    /// stdout and stderr, interleaved as they came.
    pub output: String,
}

/// Runs `cmd`, echoing both its streams to our stderr as they come and
/// keeping a copy, for a failure message.
pub fn stream(cmd: Cmd<'_>) -> Result<Captured> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let mut child = Command::from(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{shown}`"))?;
    let kept = Arc::new(Mutex::new(Vec::new()));
    let pipes: Vec<Box<dyn Read + Send>> =
        vec![Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
    let copiers: Vec<_> = pipes
        .into_iter()
        .map(|mut pipe| {
            let kept = Arc::clone(&kept);
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let _ = io::stderr().write_all(&buf[..n]);
                    kept.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        })
        .collect();
    let status = child.wait().with_context(|| format!("`{shown}` did not finish"))?;
    for copier in copiers {
        let _ = copier.join();
    }
    let output = String::from_utf8_lossy(&kept.lock().unwrap()).into_owned();
    Ok(Captured { status, output })
}

/// Fails with directions when no engine answers. Asked only after a
/// docker call failed, so that the happy path pays nothing for it.
/// Returns the engine's version.
pub fn ensure_engine(sh: &Shell) -> Result<String> {
    let format = "{{.Server.Version}}";
    let output = match cmd!(sh, "docker version --format {format}").quiet().ignore_status().output() {
        Ok(output) => output,
        Err(_) => {
            bail!("The docker client is not installed: install Docker (https://docs.docker.com/engine/install/).")
        }
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

/// What `docker image inspect` says of an image, as far as we use it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInfo {
    pub id: String,
    pub size: u64,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(default)]
    pub config: ImageConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Vec<String>>,
}

impl ImageInfo {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.repo_tags.iter().flatten().any(|t| t == tag)
    }

    /// The value of an `ENV` the image sets.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.config.env.iter().flatten().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }
}

/// What `docker image inspect` says of those of `references` that exist:
/// through the engine's API where it can, else in one CLI call.
pub fn inspect_images(sh: &Shell, references: &[&str]) -> Result<Vec<ImageInfo>> {
    let by_api: Option<Vec<Option<ImageInfo>>> =
        references.iter().map(|reference| engine_api::get(&format!("/images/{reference}/json"))).collect();
    if let Some(found) = by_api {
        return Ok(found.into_iter().flatten().collect());
    }
    let output = cmd!(sh, "docker image inspect {references...}").quiet().ignore_status().output()?;
    let said = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !said.to_ascii_lowercase().contains("no such image") {
        ensure_engine(sh)?;
        bail!("docker image inspect failed: {}", said.trim());
    }
    serde_json::from_slice(&output.stdout).context("cannot read `docker image inspect`'s answer")
}

/// `None` when the engine has no such image.
pub fn inspect_image(sh: &Shell, reference: &str) -> Result<Option<ImageInfo>> {
    Ok(inspect_images(sh, &[reference])?.pop())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_output_is_read() {
        let json = r#"[{"Id":"sha256:abc","Size":1234,"RepoTags":["x:1"],"Config":{"Env":["PATH=/bin","PYTHON_VERSION=3.11.2"]}}]"#;
        let info: Vec<ImageInfo> = serde_json::from_str(json).unwrap();
        assert_eq!(info[0].id, "sha256:abc");
        assert_eq!(info[0].size, 1234);
        assert_eq!(info[0].env("PYTHON_VERSION"), Some("3.11.2"));
        assert_eq!(info[0].env("PYTHON"), None);
        assert!(info[0].has_tag("x:1") && !info[0].has_tag("x:2"));
    }
}
