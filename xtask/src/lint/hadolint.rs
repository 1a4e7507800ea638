//! hadolint, from the host tools' venv, with its own levels kept.

use anyhow::{Context, Result};
use camino::Utf8Path;
use serde::Deserialize;
use xshell::Shell;

use super::{Finding, Severity};
use crate::sys::{
    process::{self, CommandLine},
    venv,
};

#[derive(Deserialize)]
struct HadolintFinding {
    code: String,
    level: String,
    line: usize,
    message: String,
}

/// hadolint's findings in `dockerfile`, reported against `file`.
pub fn check(sh: &Shell, dockerfile: &Utf8Path, file: &str) -> Result<Vec<Finding>> {
    let hadolint = venv::bin(sh)?.join("hadolint");
    // `--no-fail`: hadolint would exit 1 when it finds something; its JSON says what.
    let line = CommandLine::new(hadolint.as_str()).args(["--no-fail", "--format", "json", dockerfile.as_str()]);
    let output = process::output(&line)?;
    let found: Vec<HadolintFinding> = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("cannot read hadolint's answer: {}", String::from_utf8_lossy(&output.stderr)))?;
    Ok(found
        .into_iter()
        .map(|f| {
            let severity = match f.level.as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                _ => Severity::Info,
            };
            Finding::new(&format!("hadolint/{}", f.code), severity, file, f.message).at(f.line)
        })
        .collect())
}
