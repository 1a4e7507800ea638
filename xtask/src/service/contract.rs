//! The service contract: which app the image serves, the port it listens
//! on in its container, and the path that says it is ready. Our
//! Dockerfile takes them as build args, and the image it builds describes
//! itself: `EXPOSE` gives the port, a label the health path. So every task
//! reads them back from the image it starts, `--no-build` ones too. The
//! build args (`--app-port`, `--health`, the project's build-args file)
//! speak only for an image that does not say: one of another Dockerfile.

use crate::engine::ImageConfig;
pub use crate::model::contract::{is_app_reference, Asked, DEFAULT_HEALTH, DEFAULT_PORT};

/// The image's environment variable that names the app (uvicorn reads it).
const APP_ENV: &str = "UVICORN_APP";
/// The image's label that holds the health path.
pub const HEALTH_LABEL: &str = "dev.xtask.health-path";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The port the service listens on inside its container.
    pub port: u16,
    /// GET it: any answer means the service is up, 200 that it is well.
    pub health: String,
}

impl Contract {
    /// What the image `config` says; where it says nothing, what the
    /// build `asked`; else the defaults, 8000 and /health.
    pub fn of(config: &ImageConfig, asked: &Asked) -> Contract {
        Contract {
            port: image_port(config).or(asked.port).unwrap_or(DEFAULT_PORT),
            health: health_label(config).or(asked.health.as_deref()).unwrap_or(DEFAULT_HEALTH).to_string(),
        }
    }
}

/// The port the image says it serves on: its one exposed TCP port.
/// Several say nothing of which one serves HTTP.
fn image_port(config: &ImageConfig) -> Option<u16> {
    match config.exposed_tcp_ports()[..] {
        [port] => Some(port),
        _ => None,
    }
}

fn health_label(config: &ImageConfig) -> Option<&str> {
    config.labels.as_ref().and_then(|labels| labels.get(HEALTH_LABEL)).map(String::as_str)
}

/// What of the contract `asked` that the image `config` built with it
/// says otherwise, as `KEY` `asked` `found`: a build that reused a stale
/// cache. Buildah (podman 4.3) reuses a step whose `ARG` value changed;
/// an image that does not describe itself differs in nothing.
pub fn differs(config: &ImageConfig, asked: &Asked) -> Vec<(&'static str, String, String)> {
    let found = Asked {
        app: config.env(APP_ENV).map(str::to_string),
        port: image_port(config),
        health: health_label(config).map(str::to_string),
    };
    let found: Vec<(&str, String)> = found.build_args();
    asked
        .build_args()
        .into_iter()
        .filter_map(|(key, asked)| {
            let (_, found) = found.iter().find(|(k, _)| *k == key)?;
            (asked != *found).then(|| (key, asked, found.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contract::{APP_MODULE, APP_PORT, DEFAULT_APP, HEALTH_PATH};

    #[test]
    fn a_stale_build_differs_from_what_was_asked() {
        let image = config(
            r#"{"Env":["UVICORN_APP=main:app"],"ExposedPorts":{"8000/tcp":{}},"Labels":{"dev.xtask.health-path":"/health"}}"#,
        );
        let same = Asked { app: Some("main:app".into()), port: Some(8000), health: None };
        assert!(differs(&image, &same).is_empty());
        let stale =
            differs(&image, &Asked { app: Some("main:nope".into()), port: None, health: Some("/healthz".into()) });
        assert_eq!(
            stale,
            [
                (APP_MODULE, "main:nope".to_string(), "main:app".to_string()),
                (HEALTH_PATH, "/healthz".to_string(), "/health".to_string())
            ]
        );
        let other = Asked { app: Some("x:y".into()), ..Asked::default() };
        assert!(differs(&config("{}"), &other).is_empty(), "another Dockerfile's image");
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

    #[test]
    fn the_image_describes_itself_and_build_args_speak_for_one_that_does_not() {
        let ours = config(r#"{"ExposedPorts":{"9000/tcp":{}},"Labels":{"dev.xtask.health-path":"/healthz"}}"#);
        let given = Asked { app: None, port: Some(8080), health: Some("/ready".into()) };
        assert_eq!(Contract::of(&ours, &given), Contract { port: 9000, health: "/healthz".into() });
        let theirs = config(r#"{"Labels":{"maintainer":"x"}}"#);
        assert_eq!(Contract::of(&theirs, &given), Contract { port: 8080, health: "/ready".into() });
    }

    #[test]
    fn an_image_that_says_nothing_gets_the_defaults() {
        let silent = config("{}");
        assert_eq!(Contract::of(&silent, &Asked::default()), Contract { port: 8000, health: "/health".into() });
        let two = config(r#"{"ExposedPorts":{"8000/tcp":{},"9000/tcp":{}},"Labels":null}"#);
        assert_eq!(Contract::of(&two, &Asked::default()).port, 8000);
        let udp = config(r#"{"ExposedPorts":{"53/udp":{}}}"#);
        assert_eq!(Contract::of(&udp, &Asked::default()).port, 8000);
    }
}
