//! `cargo xtask lint`: the classic container mistakes, in the Dockerfile
//! (hadolint, and our own rules) and in the built image (its config, its
//! files, and how it behaves when run).

use std::time::Duration;

use anyhow::{Context, Result};
use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::{
    cli::{self, Args},
    container::{Container, Spec, MANAGED},
    docker::{self, ImageConfig},
    image::{Image, ImageFlags},
    probe, project,
    rules::{self, Finding, Severity},
    service, tools,
};

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub dockerfile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// No error-level finding, and every check could run.
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

pub struct Lint {
    /// What to build, and where the Dockerfile and context are.
    build: Image,
    /// An image to check instead of building one.
    image: Option<String>,
}

impl Lint {
    pub fn parse(args: &mut Args) -> Result<Lint> {
        let (mut build, mut image) = (ImageFlags::default(), None);
        while let Some(flag) = args.next_flag()? {
            match flag.as_str() {
                "--image" => image = Some(args.value(&flag)?),
                _ if build.accept(&flag, args)? => {}
                _ => return Err(cli::unknown_flag("lint", &flag)),
            }
        }
        Ok(Lint { build: build.into_image()?, image })
    }

    pub fn run(self, sh: &Shell) -> bool {
        let mut report = LintReport::default();
        report.summary.dockerfile = shown(self.build.dockerfile());
        let outcome = self.check(sh, &mut report);
        for finding in &report.findings {
            let line = finding.line.map_or(String::new(), |l| format!(":{l}"));
            let path = finding.path.as_deref().map_or(String::new(), |p| format!(" {p}"));
            eprintln!(
                "{}{line}{path}: {} [{}] {}",
                finding.file,
                finding.severity.name(),
                finding.rule,
                finding.message
            );
        }
        let count = |severity| report.findings.iter().filter(|f| f.severity == severity).count();
        report.summary.errors = count(Severity::Error);
        report.summary.warnings = count(Severity::Warning);
        report.summary.infos = count(Severity::Info);
        report.success = outcome.is_ok() && report.summary.errors == 0;
        report.message = Some(match outcome {
            Ok(()) => format!(
                "{} error(s), {} warning(s), {} info(s).",
                report.summary.errors, report.summary.warnings, report.summary.infos
            ),
            Err(error) => format!("{error:#}"),
        });
        eprintln!("{}", report.message.as_deref().unwrap_or_default());
        crate::emit(&report);
        report.success
    }

    fn check(&self, sh: &Shell, report: &mut LintReport) -> Result<()> {
        let dockerfile = self.build.dockerfile();
        let text = sh.read_file(dockerfile).with_context(|| format!("cannot read the Dockerfile {dockerfile}"))?;
        let file = shown(dockerfile);
        report.findings.extend(hadolint(sh, dockerfile, &file)?);
        report.findings.extend(rules::check_dockerfile(&text, &file));
        let ignore_file = self.build.context().join(".dockerignore");
        let ignore = sh.read_file(&ignore_file).ok();
        report.findings.extend(rules::check_dockerignore(ignore.as_deref(), &shown(&ignore_file)));

        // A built image is run by id, so that a concurrent build of the same tag cannot swap it.
        let (image, shown_as) = match &self.image {
            Some(image) => (image.clone(), image.clone()),
            None => {
                let built = self.build.build(sh)?;
                (built.image_id, self.build.tag.clone())
            }
        };
        report.summary.image = Some(shown_as.clone());
        let info = docker::inspect_image(sh, &image)?.with_context(|| format!("there is no image {image}"))?;
        report.findings.extend(check_config(&info.config, &shown_as));
        report.findings.extend(check_files(sh, &image, &shown_as)?);
        report.findings.extend(check_running(sh, &image, &shown_as)?);
        Ok(())
    }
}

/// A path as a person reads it: relative to the project when inside it.
fn shown(path: &Utf8Path) -> String {
    path.strip_prefix(project::root()).map_or_else(|_| path.to_string(), |p| p.to_string())
}

#[derive(Deserialize)]
struct HadolintFinding {
    code: String,
    level: String,
    line: usize,
    message: String,
}

fn hadolint(sh: &Shell, dockerfile: &Utf8Path, file: &str) -> Result<Vec<Finding>> {
    let hadolint = tools::venv_bin(sh)?.join("hadolint");
    // hadolint exits 1 when it finds something; its JSON says what.
    let output = cmd!(sh, "{hadolint} --no-fail --format json {dockerfile}").quiet().ignore_status().output()?;
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
            Finding { line: Some(f.line), ..Finding::new(&format!("hadolint/{}", f.code), severity, file, f.message) }
        })
        .collect())
}

/// What the image's configuration says.
fn check_config(config: &ImageConfig, image: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut error = |rule: &str, message: String| findings.push(Finding::new(rule, Severity::Error, image, message));
    let user = config.user.as_deref().unwrap_or("");
    if matches!(user.split(':').next().unwrap_or(""), "" | "root" | "0") {
        error("image-root-user", format!("The image runs as root (User is {user:?})."));
    }
    if !config.exposed_ports.as_ref().is_some_and(|ports| ports.contains_key("8000/tcp")) {
        error("image-port-not-exposed", "The image does not EXPOSE 8000.".into());
    }
    let test = config.healthcheck.as_ref().and_then(|h| h.test.as_deref()).unwrap_or_default();
    if test.is_empty() || test[0] == "NONE" {
        error("image-no-healthcheck", "The image has no health check.".into());
    }
    for (what, command) in [("CMD", &config.cmd), ("ENTRYPOINT", &config.entrypoint)] {
        if command.as_deref().is_some_and(|c| c.len() >= 2 && c[0] == "/bin/sh" && c[1] == "-c") {
            error("image-shell-form-command", format!("The image's {what} is shell form: /bin/sh is PID 1."));
        }
    }
    findings
}

/// Compilers and files that have no place in a runtime image, found by
/// the image's own Python (every image this lints has one).
const FILE_CHECK: &str = r#"
import json, os, shutil
compilers = [p for p in map(shutil.which, ("gcc", "cc", "g++", "clang")) if p]
unwanted = [os.path.join(top, name) for top, dirs, files in os.walk("/app") for name in dirs + files
            if name in (".git", "tests", "target", "__pycache__") or name.startswith(".env")]
print(json.dumps({"compilers": compilers, "unwanted": unwanted}))
"#;

#[derive(Deserialize)]
struct FileCheck {
    compilers: Vec<String>,
    unwanted: Vec<String>,
}

/// `image` is what to run, `shown_as` what the findings name.
fn check_files(sh: &Shell, image: &str, shown_as: &str) -> Result<Vec<Finding>> {
    let label = format!("{MANAGED}=true");
    let said = cmd!(sh, "docker run --rm --network none --label {label} --entrypoint python {image} -c {FILE_CHECK}")
        .quiet()
        .read()
        .context("cannot look inside the image with its python")?;
    let found: FileCheck =
        serde_json::from_str(&said).with_context(|| format!("cannot read the file check `{said}`"))?;
    let finding = |rule: &str, path: String, message: String| Finding {
        path: Some(path),
        ..Finding::new(rule, Severity::Error, shown_as, message)
    };
    let compilers = found.compilers.into_iter().map(|path| {
        finding(
            "image-compiler",
            path.clone(),
            format!("The runtime image has a compiler, {path}: build in an earlier stage."),
        )
    });
    let unwanted = found.unwanted.into_iter().map(|path| {
        finding("image-unwanted-file", path.clone(), format!("{path} is in the image: keep it out with .dockerignore."))
    });
    Ok(compilers.chain(unwanted).collect())
}

/// Runs the image twice: read-only, where it must still serve /health;
/// and as usual, where serving requests must leave its layer empty.
fn check_running(sh: &Shell, image: &str, shown_as: &str) -> Result<Vec<Finding>> {
    let start = |read_only| -> Result<(Container<'_>, u16, Result<u16>)> {
        let container = Container::start(sh, &Spec { read_only, ..Spec::owned("lint", image) })?;
        let port = container.host_port()?;
        let served = service::wait_ready(&container, port, "/health", Duration::from_secs(30));
        Ok((container, port, served))
    };
    let mut findings = Vec::new();
    let error = |rule: &str, message: String| Finding::new(rule, Severity::Error, shown_as, message);

    let (read_only, _, served) = start(true)?;
    let trouble = match served {
        Ok(200) => None,
        Ok(status) => Some(format!("With a read-only root file system, GET /health answers {status}.")),
        Err(error) => Some(format!("With a read-only root file system the service does not serve: {error:#}")),
    };
    findings.extend(trouble.map(|message| error("image-read-only-fails", message)));
    drop(read_only);

    let (container, port, served) = start(false)?;
    served?;
    for path in ["/health", "/", "/health"] {
        let _ = probe::get(port, path, Duration::from_secs(5));
    }
    let (bytes, changed) = container.writes()?;
    if bytes > 0 {
        let message = format!("Serving requests wrote {bytes} bytes to the container's layer: {}.", changed.join(", "));
        findings.push(error("image-writes-at-run-time", message));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_config_passes_and_a_naive_one_does_not() {
        let good: ImageConfig = serde_json::from_str(
            r#"{"User":"10001:10001","ExposedPorts":{"8000/tcp":{}},"Healthcheck":{"Test":["CMD","python"]},"Cmd":["python","-m","uvicorn"]}"#,
        )
        .unwrap();
        assert!(check_config(&good, "i").is_empty());
        let naive: ImageConfig =
            serde_json::from_str(r#"{"User":"","Cmd":["/bin/sh","-c","uvicorn main:app"]}"#).unwrap();
        let rules: Vec<String> = check_config(&naive, "i").into_iter().map(|f| f.rule).collect();
        assert_eq!(
            rules,
            ["image-root-user", "image-port-not-exposed", "image-no-healthcheck", "image-shell-form-command"]
        );
    }
}
