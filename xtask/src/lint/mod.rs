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
pub mod rule_table;
mod secrets;

use serde::Serialize;

use self::rule_table::Rule;
pub use self::{
    compose::check_compose_file,
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
    /// A finding of our rule `rule`, at the severity its row gives it.
    pub fn new(rule: &Rule, file: &str, message: String) -> Finding {
        Finding::of(rule.id.to_string(), rule.severity, file, message)
    }

    /// A finding of hadolint's rule `code`, at the level hadolint gave it:
    /// its rules are its own, and have no row in our table.
    fn hadolint(code: &str, severity: Severity, file: &str, message: String) -> Finding {
        Finding::of(format!("hadolint/{code}"), severity, file, message)
    }

    fn of(rule: String, severity: Severity, file: &str, message: String) -> Finding {
        Finding { rule, severity, file: file.to_string(), line: None, path: None, message }
    }

    /// The finding as a warning, whatever its rule's severity: what the
    /// rule sees says it may be right on purpose, as the rule's row says
    /// in `warning_when`.
    pub fn lowered(self) -> Finding {
        Finding { severity: Severity::Warning, ..self }
    }

    fn at(mut self, line: usize) -> Finding {
        self.line = Some(line);
        self
    }
}
