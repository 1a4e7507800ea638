//! The linter's parts: our rules for the Dockerfile (on the model's
//! Dockerfile reader), for the `.dockerignore` (on the model's matcher),
//! and for a Compose file (on the model Compose resolves), with the secret
//! tests they share; hadolint; and the policy a built image must meet.
//! The `lint` task puts them together.

mod compose;
mod dockerfile_rules;
mod dockerignore_rules;
pub mod hadolint;
pub mod image_policy;
mod installs;
mod secrets;

use serde::Serialize;

pub use self::{
    compose::{check_compose, compose_checks_image},
    dockerfile_rules::check_dockerfile,
    dockerignore_rules::{check_dockerignore, ships_git, ContextListing},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The Dockerfile, the .dockerignore, or the image.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// A path inside the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn new(rule: &str, severity: Severity, file: &str, message: String) -> Finding {
        Finding { rule: rule.to_string(), severity, file: file.to_string(), line: None, path: None, message }
    }

    fn at(mut self, line: usize) -> Finding {
        self.line = Some(line);
        self
    }
}
