//! Read-only questions to the Docker engine's API over its unix socket.
//! Each docker CLI call costs tens of milliseconds of start-up; the same
//! question over the socket costs about one. Used only where the CLI
//! would talk to that same socket; every caller falls back to the CLI when
//! this answers None, so a remote engine, a docker context or a socket we
//! may not open still works, just slower.

use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::de::DeserializeOwned;

/// The answer to GET `path` as JSON: `Some(None)` when the engine says 404,
/// `None` when the API cannot be used here.
pub fn get<T: DeserializeOwned>(path: &str) -> Option<Option<T>> {
    let mut stream = UnixStream::connect(socket()?).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // HTTP/1.0: the engine closes the connection after one plain (not chunked) body.
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let (status, body) = split_response(&response)?;
    match status {
        200 => serde_json::from_slice(body).ok().map(Some),
        404 => Some(None),
        _ => None,
    }
}

/// Whether the Docker engine answers on its socket; None when we cannot
/// tell which socket the CLI would use (a docker context).
pub fn ping() -> Option<bool> {
    Some(ping_socket(&socket()?))
}

/// Whether a Docker engine answers on `socket`.
pub fn ping_socket(socket: &Path) -> bool {
    let answers = || -> Option<bool> {
        let mut stream = UnixStream::connect(socket).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).ok()?;
        Some(split_response(&response)?.0 == 200)
    };
    answers().unwrap_or(false)
}

/// Where a Docker engine on this machine listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The socket the docker CLI would use: DOCKER_HOST's unix path, or the
/// default one when neither DOCKER_HOST nor a docker context says otherwise.
fn socket() -> Option<PathBuf> {
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        return host.strip_prefix("unix://").map(PathBuf::from);
    }
    if std::env::var_os("DOCKER_CONTEXT").is_some() {
        return None;
    }
    let config = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".docker"),
    };
    if let Ok(text) = std::fs::read_to_string(config.join("config.json")) {
        if !uses_default_context(&text) {
            return None;
        }
    }
    Some(PathBuf::from(DEFAULT_SOCKET))
}

fn uses_default_context(config: &str) -> bool {
    let Ok(config) = serde_json::from_str::<serde_json::Value>(config) else { return false };
    matches!(config.get("currentContext").and_then(|c| c.as_str()), None | Some("default") | Some(""))
}

/// The status code and body of a raw HTTP response.
fn split_response(response: &[u8]) -> Option<(u16, &[u8])> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&response[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, &response[end + 4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_split() {
        let (status, body) =
            split_response(b"HTTP/1.0 404 Not Found\r\nContent-Type: x\r\n\r\n{\"message\":1}").unwrap();
        assert_eq!((status, body), (404, &b"{\"message\":1}"[..]));
        assert!(split_response(b"garbage").is_none());
    }

    #[test]
    fn only_the_default_context_uses_the_default_socket() {
        assert!(uses_default_context(r#"{"auths":{}}"#));
        assert!(uses_default_context(r#"{"currentContext":"default"}"#));
        assert!(!uses_default_context(r#"{"currentContext":"remote"}"#));
        assert!(!uses_default_context("not json"));
    }
}
