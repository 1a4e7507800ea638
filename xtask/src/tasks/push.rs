//! `cargo xtask push [image flags] --registry HOST[:PORT] [--no-build]
//! [--smoke] [--env …]`: builds (from the cache) unless `--no-build`; with
//! `--smoke`, runs the smoke checks first and pushes only an image that
//! passed; tags `HOST[:PORT]/NAME:TAG`, pushes, and asks the registry
//! itself which manifest the tag names: `verified` when that is the digest
//! the engine pushed.

use anyhow::{bail, Result};
use serde::Serialize;
use xshell::Shell;

use super::{
    smoke::{Smoke, SmokeReport},
    Done, Engine, Task,
};
use crate::{
    cli::{accept_setting, usage, Args, ImageFlags},
    engine::{build::BuildSpec, container::Settings, reference},
    registry::{self, Answer},
    report::{ImageReport, Report},
    service,
};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    #[serde(flatten)]
    pub image: ImageReport,
    /// The pushed `HOST[:PORT]/NAME:TAG`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `sha256:…` of the pushed manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The registry itself said the tag names that digest.
    pub verified: bool,
}

impl Report for PushReport {
    fn success(&self) -> bool {
        self.image.success
    }

    fn failure(message: String) -> PushReport {
        PushReport { image: ImageReport::failure(message), ..PushReport::default() }
    }
}

pub struct Push {
    spec: BuildSpec,
    registry: String,
    build: bool,
    smoke: bool,
    settings: Settings,
}

impl Task for Push {
    type Report = PushReport;

    fn parse(args: &mut Args) -> Result<Push> {
        let (mut flags, mut registry, mut build, mut smoke) = (ImageFlags::default(), None, true, false);
        let mut settings = Settings::default();
        while let Some(given) = args.next()? {
            match given.name() {
                "--registry" => registry = Some(reference::registry(given.value()).map_err(usage)?),
                "--no-build" => build = false,
                "--smoke" => smoke = true,
                _ if accept_setting(&mut settings, &given)? => {}
                _ => flags.accept(&given)?,
            }
        }
        let registry = registry.ok_or_else(|| usage("`push` needs --registry HOST[:PORT], such as 127.0.0.1:5000"))?;
        Ok(Push { spec: flags.into_spec()?, registry, build, smoke, settings })
    }

    fn run(self, _sh: &Shell, engine: &Engine) -> Done<PushReport> {
        let mut report = PushReport::default();
        let outcome = self.push(engine, &mut report);
        report.image.settle(outcome);
        report.into()
    }
}

impl Push {
    fn push(&self, engine: &Engine, report: &mut PushReport) -> Result<String> {
        // Asked first, so that a registry that is down costs no build.
        if !registry::answers(&self.registry) {
            bail!("The registry {} does not answer: start it, or check --registry.", self.registry);
        }
        report.image = self.image(engine)?;
        let target = reference::in_registry(&self.registry, &self.spec.tag);
        engine.tag(&report.image.image_id, &target)?;
        let digest = engine.push(&report.image.image_id, &target)?;
        report.reference = Some(target.clone());
        report.digest = Some(digest.clone());
        let checked = match reference::speaks_plain_http(&self.registry) {
            true => registry::manifest_digest(&target)?,
            false => return Ok(format!("Pushed {target} ({digest}); the registry speaks HTTPS, which we do not ask.")),
        };
        match checked {
            Answer::Digest(said) if said == digest => {
                report.verified = true;
                Ok(format!("Pushed {target} ({digest}); the registry names the same manifest."))
            }
            Answer::Digest(said) => bail!("Pushed {target}, but the registry names {said} for it, not {digest}."),
            Answer::NoSuchTag => bail!("Pushed {target}, but the registry has no such tag."),
            Answer::NeedsLogin => {
                Ok(format!("Pushed {target} ({digest}); the registry wants a login we cannot read to confirm it."))
            }
        }
    }

    /// The image to push: one that passed the smoke checks with `--smoke`.
    fn image(&self, engine: &Engine) -> Result<ImageReport> {
        if self.smoke {
            let mut smoked = SmokeReport::default();
            let smoke = Smoke::of(self.spec.clone(), self.build, self.settings.clone());
            smoke
                .check(engine, &mut smoked)
                .map_err(|e| e.context("The smoke checks failed, so nothing was pushed"))?;
            return Ok(smoked.image);
        }
        match self.build {
            true => service::build_image(engine, &self.spec),
            false => service::obtain(engine, &self.spec, false)?.accept(),
        }
    }
}
