//! What the engine says of an image, as far as we use it: through its API
//! where it can answer, else in one `image inspect` call.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::Engine;
use crate::sys::process::CommandLine;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInfo {
    pub id: String,
    pub size: u64,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// `HOST/NAME@sha256:…` for each registry the image was pushed to or pulled from.
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    #[serde(default)]
    pub config: ImageConfig,
    /// podman's place for it; Docker's is in `config`.
    #[serde(default)]
    healthcheck: Option<Healthcheck>,
    #[serde(default, rename = "RootFS")]
    root_fs: Option<RootFs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RootFs {
    #[serde(default)]
    layers: Vec<String>,
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
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Vec<String>>,
}

impl ImageInfo {
    /// podman's answer in Docker's terms: an `Id` with its `sha256:`, the
    /// health check in the config.
    fn in_docker_terms(mut self) -> ImageInfo {
        if !self.id.contains(':') {
            self.id = format!("sha256:{}", self.id);
        }
        if self.config.healthcheck.is_none() {
            self.config.healthcheck = self.healthcheck.take();
        }
        self
    }

    /// Whether `tag` names the image; podman's names of local images
    /// start with `localhost/`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.repo_tags.iter().flatten().any(|t| t == tag || t.strip_prefix("localhost/") == Some(tag))
    }

    /// Its layers' ids, bottom first.
    pub fn layers(&self) -> Vec<String> {
        self.root_fs.as_ref().map(|r| r.layers.clone()).unwrap_or_default()
    }

    /// The value of an `ENV` the image sets.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.config.env(key)
    }
}

impl ImageConfig {
    /// The TCP ports the image EXPOSEs: the one reader of them.
    pub fn exposed_tcp_ports(&self) -> Vec<u16> {
        let tcp = self.exposed_ports.iter().flatten().filter_map(|(port, _)| port.strip_suffix("/tcp"));
        tcp.filter_map(|port| port.parse().ok()).collect()
    }

    /// The value of an `ENV` the image sets.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env.iter().flatten().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }
}

impl Engine {
    fn inspect_command(&self, references: &[&str]) -> CommandLine {
        self.cli().args(["image", "inspect"]).args(references.iter().copied())
    }

    /// What the engine says of those of `references` that exist.
    pub fn inspect_images(&self, references: &[&str]) -> Result<Vec<ImageInfo>> {
        let by_api: Option<Vec<Option<ImageInfo>>> =
            references.iter().map(|reference| self.api_get(&format!("/images/{reference}/json"))).collect();
        if let Some(found) = by_api {
            return Ok(found.into_iter().flatten().collect());
        }
        let output = self.output(&self.inspect_command(references))?;
        let said = String::from_utf8_lossy(&output.stderr).to_ascii_lowercase();
        // Docker says "No such image", podman "image not known"; both print the others.
        if !output.status.success() && !said.contains("no such image") && !said.contains("image not known") {
            self.version()?;
            bail!("{} image inspect failed: {}", self.kind().name(), said.trim());
        }
        let found: Vec<ImageInfo> =
            serde_json::from_slice(&output.stdout).context("cannot read the engine's `image inspect` answer")?;
        Ok(found.into_iter().map(ImageInfo::in_docker_terms).collect())
    }

    /// `None` when the engine has no such image.
    pub fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>> {
        Ok(self.inspect_images(&[reference])?.pop())
    }
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

    #[test]
    fn podman_s_answer_is_read_as_docker_s() {
        let json = r#"[{"Id":"8e5699","Size":1,"RepoTags":[],"Config":{"Labels":{"a":"b"}},"Healthcheck":{"Test":["CMD","true"]}}]"#;
        let info: Vec<ImageInfo> = serde_json::from_str(json).unwrap();
        let info = info.into_iter().next().unwrap().in_docker_terms();
        assert_eq!(info.id, "sha256:8e5699");
        assert_eq!(info.config.healthcheck.unwrap().test.unwrap(), ["CMD", "true"]);
    }

    #[test]
    fn the_inspect_command() {
        assert_eq!(Engine::default().inspect_command(&["a", "b"]).to_string(), "docker image inspect a b");
    }
}
