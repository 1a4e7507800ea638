//! hadolint, from the host tools' venv, with its own levels kept.

use anyhow::{Context, Result};
use camino::Utf8Path;
use serde::Deserialize;
use xshell::Shell;

use super::{Finding, Severity};
use crate::sys::{
    process::{self, CommandLine},
    venv::{self, Venv},
};

#[derive(Deserialize)]
struct HadolintFinding {
    code: String,
    level: String,
    line: usize,
    message: String,
}

/// hadolint's findings in `dockerfile`, reported against `file`, with the
/// context's own `.hadolint.yaml` when it has one. When hadolint cannot
/// parse a file that our reader reads (`readable`), its parse error
/// (DL1000) is a warning that says so, not an error: hadolint fails on
/// valid files, such as a heredoc followed directly by an instruction
/// (its issue 960), and our rules still judge the file.
pub fn check(
    sh: &Shell,
    dockerfile: &Utf8Path,
    context: &Utf8Path,
    file: &str,
    readable: bool,
) -> Result<Vec<Finding>> {
    let hadolint = venv::bin(sh, Venv::Lint)?.join("hadolint");
    let line = command(&hadolint, dockerfile, Some(context.join(".hadolint.yaml")).filter(|c| c.is_file()).as_deref());
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
            match f.code.as_str() {
                "DL1000" if readable => Finding::hadolint(
                    "DL1000",
                    Severity::Warning,
                    file,
                    format!(
                        "hadolint could not read line {} (a known limitation of hadolint's parser, such as a heredoc \
                         followed directly by an instruction), so its own rules did not run; ours read the whole file.",
                        f.line
                    ),
                ),
                _ => Finding::hadolint(&f.code, severity, file, f.message),
            }
            .at(f.line)
        })
        .collect())
}

/// `--no-fail`: hadolint would exit 1 when it finds something; its JSON says what.
fn command(hadolint: &Utf8Path, dockerfile: &Utf8Path, config: Option<&Utf8Path>) -> CommandLine {
    let line = CommandLine::new(hadolint.as_str()).args(["--no-fail", "--format", "json"]);
    let line = match config {
        Some(config) => line.args(["--config", config.as_str()]),
        None => line,
    };
    line.arg(dockerfile.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_s_own_config_is_passed_on() {
        let line = command("/v/hadolint".into(), "/c/Dockerfile".into(), Some("/c/.hadolint.yaml".into()));
        assert_eq!(line.to_string(), "/v/hadolint --no-fail --format json --config /c/.hadolint.yaml /c/Dockerfile");
        assert_eq!(command("h".into(), "D".into(), None).to_string(), "h --no-fail --format json D");
    }
}
