//! The service contract as a build asks for it: which app the image
//! serves, the port it listens on in its container, and the path that
//! says it is ready. Typed once, from the flags, InputData or the
//! project's build-args file, it travels to the build, which hands it to
//! our Dockerfile as build args; `service::contract` reads back what the
//! built image says.

/// The build args of our Dockerfile that say it.
pub const APP_MODULE: &str = "APP_MODULE";
pub const APP_PORT: &str = "APP_PORT";
pub const HEALTH_PATH: &str = "HEALTH_PATH";

/// The defaults of our Dockerfile's ARGs, for an image that says nothing.
pub const DEFAULT_APP: &str = "main:app";
pub const DEFAULT_PORT: u16 = 8000;
pub const DEFAULT_HEALTH: &str = "/health";

/// What a build asks of the contract; None where it asks nothing and the
/// Dockerfile's defaults stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// `MODULE:ATTR`, as uvicorn takes it.
    pub app: Option<String>,
    pub port: Option<u16>,
    pub health: Option<String>,
}

impl Asked {
    /// `self`, with what `over` asks winning.
    pub fn over(self, over: Asked) -> Asked {
        Asked { app: over.app.or(self.app), port: over.port.or(self.port), health: over.health.or(self.health) }
    }

    /// Our Dockerfile's build args for what is asked.
    pub fn build_args(&self) -> Vec<(&'static str, String)> {
        let asked = [
            (APP_MODULE, self.app.clone()),
            (APP_PORT, self.port.map(|p| p.to_string())),
            (HEALTH_PATH, self.health.clone()),
        ];
        asked.into_iter().filter_map(|(key, value)| Some((key, value?))).collect()
    }
}

/// `MODULE:ATTR`, as uvicorn takes it: dotted identifiers, a colon, an identifier.
pub fn is_app_reference(word: &str) -> bool {
    match word.split_once(':') {
        Some((module, attr)) => module.split('.').all(super::dockerfile::is_name) && super::dockerfile::is_name(attr),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_win_and_only_what_is_asked_is_a_build_arg() {
        let file = Asked { app: Some("a:b".into()), port: Some(9000), health: None };
        let flags = Asked { port: Some(9001), ..Asked::default() };
        let asked = file.over(flags);
        assert_eq!(asked.build_args(), [(APP_MODULE, "a:b".to_string()), (APP_PORT, "9001".to_string())]);
        assert!(Asked::default().build_args().is_empty());
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
