//! What a registry itself says of a pushed tag, over its HTTP API:
//! `HEAD /v2/<name>/manifests/<tag>` answers with the manifest's digest.
//! Plain HTTP over `TcpStream`, as the probe speaks: that is what a
//! registry on 127.0.0.0/8 (or one an engine is told is insecure)
//! speaks. Credentials come from where `docker login` and `podman login`
//! keep them; their values are only ever written to the request.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::{
    engine::push,
    model::reference,
    sys::{
        mask,
        probe::{self, Header},
    },
};

/// The manifest types a push may have made. Without them, a registry may
/// answer with an older form of the manifest, and another digest.
const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.oci.image.index.v1+json";

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the registry said of a tag.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Digest(String),
    NoSuchTag,
    /// It wants credentials we do not have (or a token, which we do not fetch).
    NeedsLogin,
}

/// The addresses `registry` listens on (port 80 when it names none).
fn addresses(registry: &str) -> std::io::Result<impl Iterator<Item = SocketAddr>> {
    let with_port = if registry.contains(':') { registry.to_string() } else { format!("{registry}:80") };
    with_port.to_socket_addrs()
}

/// The first address of `registry` (`HOST[:PORT]`) where something takes
/// a connection within `timeout`.
fn answering_address(registry: &str, timeout: Duration) -> Option<SocketAddr> {
    addresses(registry).ok()?.find(|address| std::net::TcpStream::connect_timeout(address, timeout).is_ok())
}

/// Whether anything listens at `registry` (`HOST[:PORT]`), at any of its
/// addresses, within `timeout` each.
pub fn answers_within(registry: &str, timeout: Duration) -> bool {
    answering_address(registry, timeout).is_some()
}

/// How long the check before a push waits for each answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The address where `registry` answers, before a push: or the sentence
/// that it does not.
pub fn answering(registry: &str) -> Result<SocketAddr> {
    match answering_address(registry, CHECK_TIMEOUT) {
        Some(address) => Ok(address),
        None => bail!(push::not_answering(registry)),
    }
}

/// The value of the header `name` (lower case) in an answer's headers.
fn header<'a>(said: &'a [Header], name: &str) -> Option<&'a str> {
    said.iter().find(|(said, _)| said == name).map(|(_, value)| value.as_str())
}

/// Whether `registry` (one we speak plain HTTP to) will take a push from
/// `cli` (`docker`, `podman`): asked before anything is built or tagged,
/// so that a push that cannot work costs no build and leaves nothing.
pub fn check(registry: &str, cli: &str) -> Result<()> {
    let address = answering(registry)?;
    let ask = |headers: &[Header]| {
        probe::get_head(address, "/v2/", headers, CHECK_TIMEOUT).map_err(|_| {
            anyhow::anyhow!(
                "{registry} accepts connections but gave no HTTP answer to GET /v2/ within {} s: it is not a \
                 container registry, or it hangs.",
                CHECK_TIMEOUT.as_secs()
            )
        })
    };
    let (status, said) = ask(&[])?;
    match (status, header(&said, "www-authenticate")) {
        (200, _) => Ok(()),
        // A token service we do not speak to: the engine logs in itself.
        (401, Some(challenge)) if challenge.starts_with("Bearer") => Ok(()),
        (401, Some(_)) => {
            let Some(auth) = credentials(registry) else {
                bail!(push::needs_login(registry, cli));
            };
            match ask(&[("Authorization".into(), format!("Basic {auth}"))])?.0 {
                200 => Ok(()),
                _ => bail!(
                    "The registry {registry} refuses the login stored for it: run `{cli} login {registry}` again."
                ),
            }
        }
        (other, _) => {
            bail!("{registry} answers HTTP but is not a container registry: GET /v2/ answered {other}.")
        }
    }
}

/// What the registry of `reference` (`HOST[:PORT]/NAME:TAG`) says the
/// tag's manifest digest is.
pub fn manifest_digest(reference: &str) -> Result<Answer> {
    let registry = reference::registry_of(reference);
    let (name, tag) = reference::path_and_tag(reference);
    let path = format!("/v2/{name}/manifests/{tag}");
    let address = addresses(registry)?.next().with_context(|| format!("{registry} has no address"))?;
    let mut headers: Vec<Header> = vec![("Accept".into(), ACCEPT.into())];
    let (mut status, mut said) = probe::head(address, &path, &headers, TIMEOUT)
        .with_context(|| format!("the registry {registry} did not answer HEAD {path}"))?;
    if status == 401 {
        let challenge = header(&said, "www-authenticate");
        let Some(auth) = challenge.filter(|c| c.starts_with("Basic")).and_then(|_| credentials(registry)) else {
            return Ok(Answer::NeedsLogin);
        };
        headers.push(("Authorization".into(), format!("Basic {auth}")));
        (status, said) = probe::head(address, &path, &headers, TIMEOUT)?;
    }
    match status {
        200 => {
            let digest =
                header(&said, "docker-content-digest").context("the registry named no Docker-Content-Digest")?;
            Ok(Answer::Digest(digest.to_string()))
        }
        404 => Ok(Answer::NoSuchTag),
        401 | 403 => Ok(Answer::NeedsLogin),
        other => bail!("the registry {registry} answered HEAD {path} with {other}"),
    }
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, Auth>,
}

#[derive(Deserialize)]
struct Auth {
    #[serde(default)]
    auth: String,
}

/// The `user:password` in base64 that a login stored for `registry`:
/// Docker's config.json, then podman's auth.json.
fn credentials(registry: &str) -> Option<String> {
    let home = std::env::var("HOME").unwrap_or_default();
    let docker = std::env::var("DOCKER_CONFIG").unwrap_or_else(|_| format!("{home}/.docker"));
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/run".into());
    let files = [
        format!("{docker}/config.json"),
        std::env::var("REGISTRY_AUTH_FILE").unwrap_or_default(),
        format!("{runtime}/containers/auth.json"),
    ];
    let auth =
        files.iter().filter_map(|file| std::fs::read_to_string(file).ok()).find_map(|text| auth_in(&text, registry));
    auth.inspect(|auth| mask::secret(auth))
}

fn auth_in(text: &str, registry: &str) -> Option<String> {
    let file: AuthFile = serde_json::from_str(text).ok()?;
    let found = file.auths.iter().find(|(key, _)| {
        let key = key.trim_start_matches("https://").trim_start_matches("http://");
        key.split('/').next() == Some(registry)
    });
    found.map(|(_, auth)| auth.auth.clone()).filter(|auth| !auth.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_found_by_registry() {
        let config =
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dTpw"},"https://r.io/v1/":{"auth":"eDp5"}},"credsStore":""}"#;
        assert_eq!(auth_in(config, "127.0.0.1:5000").as_deref(), Some("dTpw"));
        assert_eq!(auth_in(config, "r.io").as_deref(), Some("eDp5"));
        assert_eq!(auth_in(config, "other:1"), None);
    }
}
