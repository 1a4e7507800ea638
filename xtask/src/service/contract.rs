//! The service contract: which app the image serves, the port it listens
//! on in its container, and the path that says it is ready. Our
//! Dockerfile takes them as build args, and the image it builds describes
//! itself: `EXPOSE` gives the port, a label the health path. So every task
//! reads them back from the image it starts, `--no-build` ones too. The
//! build args (`--app-port`, `--health`, the project's build-args file)
//! speak only for an image that does not say: one of another Dockerfile.

use std::collections::BTreeMap;

use crate::{engine::ImageConfig, model::dockerfile::is_name};

/// The build args of our Dockerfile that say it.
pub const APP_MODULE: &str = "APP_MODULE";
pub const APP_PORT: &str = "APP_PORT";
pub const HEALTH_PATH: &str = "HEALTH_PATH";
/// The image's environment variable that names the app (uvicorn reads it).
const APP_ENV: &str = "UVICORN_APP";
/// The image's label that holds the health path.
pub const HEALTH_LABEL: &str = "dev.xtask.health-path";

/// The defaults of our Dockerfile's ARGs, for an image that says nothing.
pub const DEFAULT_APP: &str = "main:app";
pub const DEFAULT_PORT: u16 = 8000;
pub const DEFAULT_HEALTH: &str = "/health";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The port the service listens on inside its container.
    pub port: u16,
    /// GET it: any answer means the service is up, 200 that it is well.
    pub health: String,
}

impl Contract {
    /// What the image `config` says; where it says nothing, what
    /// `build_args` say; else the defaults, 8000 and /health.
    pub fn of(config: &ImageConfig, build_args: &BTreeMap<String, String>) -> Contract {
        let given_port = build_args.get(APP_PORT).and_then(|port| port.parse().ok());
        let exposed = config.exposed_ports.iter().flatten().filter_map(|(port, _)| port.strip_suffix("/tcp"));
        let exposed: Vec<u16> = exposed.filter_map(|port| port.parse().ok()).collect();
        // Several exposed ports say nothing of which one serves HTTP.
        let image_port = match exposed[..] {
            [port] => Some(port),
            _ => None,
        };
        let label = config.labels.as_ref().and_then(|labels| labels.get(HEALTH_LABEL));
        let health = label.or_else(|| build_args.get(HEALTH_PATH));
        Contract {
            port: image_port.or(given_port).unwrap_or(DEFAULT_PORT),
            health: health.cloned().unwrap_or_else(|| DEFAULT_HEALTH.to_string()),
        }
    }
}

/// What of the contract `build_args` ask for that the image `config`
/// built with them says otherwise, as `KEY` `asked` `found`: a build that
/// reused a stale cache. Buildah (podman 4.3) reuses a step whose `ARG`
/// value changed; an image that does not describe itself differs in nothing.
pub fn differs(config: &ImageConfig, build_args: &BTreeMap<String, String>) -> Vec<(&'static str, String, String)> {
    let exposed: Vec<&str> =
        config.exposed_ports.iter().flatten().filter_map(|(p, _)| p.strip_suffix("/tcp")).collect();
    let found = [
        (APP_MODULE, config.env(APP_ENV).map(str::to_string)),
        (
            APP_PORT,
            match exposed[..] {
                [port] => Some(port.to_string()),
                _ => None,
            },
        ),
        (HEALTH_PATH, config.labels.as_ref().and_then(|labels| labels.get(HEALTH_LABEL)).cloned()),
    ];
    let asked = |key: &str| build_args.get(key).cloned();
    found
        .into_iter()
        .filter_map(|(key, found)| Some((key, asked(key)?, found?)))
        .filter(|(_, asked, found)| asked != found)
        .collect()
}

/// `MODULE:ATTR`, as uvicorn takes it: dotted identifiers, a colon, an identifier.
pub fn is_app_reference(word: &str) -> bool {
    match word.split_once(':') {
        Some((module, attr)) => module.split('.').all(is_name) && is_name(attr),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_build_differs_from_what_was_asked() {
        let image = config(
            r#"{"Env":["UVICORN_APP=main:app"],"ExposedPorts":{"8000/tcp":{}},"Labels":{"dev.xtask.health-path":"/health"}}"#,
        );
        let asked = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(differs(&image, &asked(&[(APP_MODULE, "main:app"), (APP_PORT, "8000")])).is_empty());
        let stale = differs(&image, &asked(&[(APP_MODULE, "main:nope"), (HEALTH_PATH, "/healthz")]));
        assert_eq!(
            stale,
            [
                (APP_MODULE, "main:nope".to_string(), "main:app".to_string()),
                (HEALTH_PATH, "/healthz".to_string(), "/health".to_string())
            ]
        );
        assert!(differs(&config("{}"), &asked(&[(APP_MODULE, "x:y")])).is_empty(), "another Dockerfile's image");
    }

    /// The defaults stand for what our Dockerfile's ARGs give an image.
    #[test]
    fn the_defaults_are_our_dockerfile_s() {
        let text = std::fs::read_to_string(crate::sys::project::root().join("docker/Dockerfile")).unwrap();
        for line in [format!("ARG {APP_MODULE}={DEFAULT_APP}"), format!("ARG {APP_PORT}={DEFAULT_PORT}")] {
            assert!(text.lines().any(|l| l == line), "docker/Dockerfile has no `{line}`");
        }
        assert!(text.lines().any(|l| l == format!("ARG {HEALTH_PATH}={DEFAULT_HEALTH}")));
    }

    fn config(json: &str) -> ImageConfig {
        serde_json::from_str(json).unwrap()
    }

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_image_describes_itself_and_build_args_speak_for_one_that_does_not() {
        let ours = config(r#"{"ExposedPorts":{"9000/tcp":{}},"Labels":{"dev.xtask.health-path":"/healthz"}}"#);
        let given = args(&[(APP_PORT, "8080"), (HEALTH_PATH, "/ready")]);
        assert_eq!(Contract::of(&ours, &given), Contract { port: 9000, health: "/healthz".into() });
        let theirs = config(r#"{"Labels":{"maintainer":"x"}}"#);
        assert_eq!(Contract::of(&theirs, &given), Contract { port: 8080, health: "/ready".into() });
    }

    #[test]
    fn an_image_that_says_nothing_gets_the_defaults() {
        let silent = config("{}");
        assert_eq!(Contract::of(&silent, &args(&[])), Contract { port: 8000, health: "/health".into() });
        let two = config(r#"{"ExposedPorts":{"8000/tcp":{},"9000/tcp":{}},"Labels":null}"#);
        assert_eq!(Contract::of(&two, &args(&[])).port, 8000);
        let udp = config(r#"{"ExposedPorts":{"53/udp":{}}}"#);
        assert_eq!(Contract::of(&udp, &args(&[])).port, 8000);
    }

    #[test]
    fn app_references() {
        for good in ["main:app", "app.main:app", "_x.y_2:api"] {
            assert!(is_app_reference(good), "{good}");
        }
        for bad in ["main", "main:", ":app", "app/main:app", "1app:app", "app..main:app", "main:app()"] {
            assert!(!is_app_reference(bad), "{bad}");
        }
    }
}
