//! `cargo xtask lint`: the classic container mistakes, in the Dockerfile
//! (hadolint, and our own rules), the `.dockerignore`, and, unless
//! `--no-image`, the built image (its config, its files, and how it
//! behaves when run).

use anyhow::{Context, Result};
use camino::Utf8PathBuf;
use serde::Serialize;
use xshell::Shell;

use super::{Done, Task};
use crate::{
    cli::{values, Service, ServiceFlags},
    engine::{build::BuildSpec, choice::Choice, container::Settings, Engine},
    lint::{self, hadolint, image_policy, rule_table::NO_HEALTHCHECK, ContextListing, Finding, Severity},
    model::dockerfile::Dockerfile,
    model::reference,
    service::{self, contract::Contract, stack, Obtained},
    sys::project,
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

impl crate::report::Report for LintReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> LintReport {
        LintReport { message: Some(message), ..LintReport::default() }
    }

    /// A finding a line, as compilers print them, then the counts.
    fn human(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            let line = finding.line.map_or(String::new(), |l| format!(":{l}"));
            let path = finding.path.as_deref().map_or(String::new(), |p| format!(" {p}"));
            let Finding { file, severity, rule, message, .. } = finding;
            out += &format!("{file}{line}{path}: {} [{rule}] {message}\n", severity.name());
        }
        out + self.message.as_deref().unwrap_or_default()
    }
}

/// Check the Dockerfile (hadolint and our rules) and the built image for classic mistakes
#[derive(Debug, clap::Parser)]
#[command(name = "lint")]
pub struct Flags {
    /// Check this image instead of building one
    #[arg(long, value_name = "IMAGE", value_parser = reference::image, conflicts_with = "no_image")]
    image: Option<String>,
    /// Check the Dockerfile and .dockerignore only, without building
    #[arg(long = "no-image")]
    no_image: bool,
    /// A Compose file to check too [default: the project's compose.yaml, when there is one]
    #[arg(long, value_name = "FILE", value_parser = compose_file)]
    compose: Option<Utf8PathBuf>,
    #[command(flatten)]
    service: ServiceFlags,
}

/// A Compose file that is there.
fn compose_file(value: &str) -> Result<Utf8PathBuf, String> {
    let file = values::path(value)?;
    match file.is_file() {
        true => Ok(file),
        false => Err(format!("{}: there is no such file", values::quoted(value))),
    }
}

pub struct Lint {
    /// What to build, and where the Dockerfile and context are.
    build: BuildSpec,
    /// An image to check instead of building one.
    image: Option<String>,
    /// Check no image at all.
    no_image: bool,
    /// The service's settings, for the runs of the image.
    settings: Settings,
    /// A Compose file to check.
    compose: Option<Utf8PathBuf>,
    engine: Choice,
}

impl Task for Lint {
    type Flags = Flags;
    type Report = LintReport;

    fn new(flags: Flags) -> Result<Lint> {
        let Service { spec: build, settings, engine, .. } = flags.service.read()?;
        let compose = flags.compose.or_else(|| stack::compose_file_in(&project::root()));
        Ok(Lint { build, image: flags.image, no_image: flags.no_image, settings, compose, engine })
    }

    fn run(self) -> Done<LintReport> {
        let mut report = LintReport::default();
        report.summary.dockerfile = project::shown(&self.build.dockerfile);
        let engine = self.engine.engine();
        let mut built = None;
        let outcome = Shell::new()
            .context("cannot start a shell")
            .and_then(|sh| self.check(&sh, &engine, &mut report, &mut built));
        // A check that could not run (the image crashed when run) is a
        // finding too: the summary never says 0 of a lint that failed, and
        // every error it counts is among the findings.
        if let Err(why) = &outcome {
            let image = report.summary.image.clone().unwrap_or_else(|| self.build.tag.clone());
            report.findings.push(image_policy::not_checked(why, &image));
        }
        let count = |severity| report.findings.iter().filter(|f| f.severity == severity).count();
        report.summary.errors = count(Severity::Error);
        report.summary.warnings = count(Severity::Warning);
        report.summary.infos = count(Severity::Info);
        let counted = format!(
            "{} error(s), {} warning(s), {} info(s).",
            report.summary.errors, report.summary.warnings, report.summary.infos
        );
        let outcome = outcome.and_then(|()| match report.summary.errors {
            0 => Ok(counted),
            _ => Err(anyhow::anyhow!(counted)),
        });
        // A build the tag names only once it passed.
        let outcome = match (built, outcome) {
            (Some(image), Ok(counted)) => image.accept().map(|_| counted),
            (Some(image), Err(error)) => Err(image.reject(error)),
            (None, outcome) => outcome,
        };
        report.success = outcome.is_ok();
        report.message = Some(outcome.unwrap_or_else(|error| format!("{error:#}")));
        report.into()
    }
}

impl Lint {
    fn check<'a>(
        &self,
        sh: &Shell,
        engine: &'a Engine,
        report: &mut LintReport,
        built: &mut Option<Obtained<'a>>,
    ) -> Result<()> {
        let dockerfile = &self.build.dockerfile;
        let text = sh.read_file(dockerfile).with_context(|| format!("cannot read the Dockerfile {dockerfile}"))?;
        let file = project::shown(dockerfile);
        if !self.build.context.is_dir() {
            anyhow::bail!("The build context {} is not a directory.", self.build.context);
        }
        let readable = !Dockerfile::parse(&text).stages.is_empty();
        report.findings.extend(hadolint::check(sh, dockerfile, &self.build.context, &file, readable)?);
        report.findings.extend(lint::check_dockerfile(&text, &file));
        let ignore_file = self.build.context.join(".dockerignore");
        let ignore = sh.read_file(&ignore_file).ok();
        let context = ContextListing::of(self.build.context.as_std_path());
        let ignore_file = project::shown(&ignore_file);
        let ships_git = lint::ships_git(&text);
        report.findings.extend(lint::check_dockerignore(ignore.as_deref(), &ignore_file, &context, ships_git));
        if let Some(compose) = &self.compose {
            let read = engine.compose_model(compose)?;
            let (found, checked_there) = lint::check_compose_file(&read, compose, &project::shown(compose), dockerfile);
            // The image's check is in the Compose file: no HEALTHCHECK is then no error.
            let checked_there = |finding: &Finding| checked_there && finding.rule == NO_HEALTHCHECK.id;
            report.findings = std::mem::take(&mut report.findings)
                .into_iter()
                .map(|finding| match checked_there(&finding) {
                    true => Finding {
                        message: finding.message
                            + " The Compose file gives the service built from it a healthcheck, which serves there.",
                        ..finding
                    }
                    .lowered(),
                    false => finding,
                })
                .chain(found)
                .collect();
        }
        if self.no_image {
            return Ok(());
        }

        // A built image is run by id, so that a concurrent build of the same tag cannot swap it.
        let (image, shown_as) = match &self.image {
            Some(image) => (image.clone(), image.clone()),
            None => {
                let image = built.insert(service::obtain(engine, &self.build, true)?);
                (image.report().image_id.clone(), self.build.tag.clone())
            }
        };
        report.summary.image = Some(shown_as.clone());
        let info = engine.inspect_image(&image)?.with_context(|| format!("there is no image {image}"))?;
        let contract = Contract::of(&info.config, &self.build.contract);
        report.findings.extend(image_policy::check_config(&info.config, &contract, &shown_as));
        report.findings.extend(image_policy::check_files(engine, &image, &shown_as)?);
        report.findings.extend(image_policy::check_running(engine, &image, &contract, &self.settings, &shown_as)?);
        Ok(())
    }
}
