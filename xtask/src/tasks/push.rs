//! `cargo xtask push [image flags] --registry HOST[:PORT] [--no-build]
//! [--smoke] [--env …]`: builds (from the cache) unless `--no-build`; with
//! `--smoke`, runs the smoke checks first and pushes only an image that
//! passed; tags `HOST[:PORT]/NAME:TAG`, pushes, and asks the registry
//! itself which manifest the tag names: `verified` when that is the digest
//! the engine pushed. With `--cache`, it also pushes the build cache a
//! fresh CI runner needs (see `BuildSpec::cache_stages`).

use anyhow::{bail, Result};
use serde::Serialize;

use super::{Done, Task};
use crate::{
    cli::{EngineFlag, ImageFlags, SettingsFlags},
    engine::{
        build::{stage_cache, BuildSpec},
        choice::Choice,
        container::Settings,
        Engine,
    },
    model::reference,
    registry::{self, Answer},
    report::{extends_image, ImageReport},
    service::{
        self,
        smoke::{Checks, SmokeReport},
    },
    standins,
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
    /// With `--cache`: the stage caches pushed beside the image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache: Vec<String>,
}

extends_image!(PushReport);

/// Build (cached), tag HOST[:PORT]/NAME:TAG, push, and check with the registry that it names that manifest
#[derive(Debug, clap::Parser)]
#[command(name = "push")]
pub struct Flags {
    /// Where to push, such as 127.0.0.1:5000
    #[arg(long, value_name = "HOST[:PORT]", required = true, value_parser = reference::registry)]
    registry: String,
    /// Push the image the tag names as it is
    #[arg(long = "no-build")]
    no_build: bool,
    /// Run the smoke checks first, and push only an image that passed
    #[arg(long)]
    smoke: bool,
    /// Also push the builder stages' cache, for --cache-from on a fresh runner
    #[arg(long)]
    cache: bool,
    #[command(flatten)]
    image: ImageFlags,
    #[command(flatten)]
    engine: EngineFlag,
    #[command(flatten)]
    settings: SettingsFlags,
}

pub struct Push {
    spec: BuildSpec,
    registry: String,
    build: bool,
    smoke: bool,
    cache: bool,
    settings: Settings,
    engine: Choice,
}

impl Task for Push {
    type Flags = Flags;
    type Report = PushReport;

    fn new(flags: Flags) -> Result<Push> {
        let mut spec = flags.image.into_spec()?;
        if flags.cache {
            // BuildKit puts its cache in the image only when asked; the
            // legacy builder reads the images' own layers.
            spec.build_args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
        }
        let settings = flags.settings.over_project(&spec.dockerfile);
        let (registry, build, smoke, cache) = (flags.registry, !flags.no_build, flags.smoke, flags.cache);
        Ok(Push { spec, registry, build, smoke, cache, settings, engine: flags.engine.choice()? })
    }

    fn run(self) -> Done<PushReport> {
        let mut report = PushReport::default();
        let outcome = self.push(&self.engine.engine(), &mut report);
        report.image.settle(outcome);
        report.into()
    }
}

impl Push {
    fn push(&self, engine: &Engine, report: &mut PushReport) -> Result<String> {
        // A loopback registry of a remote engine is on the engine's host,
        // where we cannot reach it: the engine alone speaks to it.
        let loopback = reference::speaks_plain_http(&self.registry);
        let reachable = !(loopback && engine.is_remote());
        // Asked first, so that a registry that is down costs no build.
        if reachable && !registry::answers(&self.registry) {
            bail!("The registry {} does not answer: start it, or check --registry.", self.registry);
        }
        report.image = self.image(engine)?;
        let target = reference::in_registry(&self.registry, &self.spec.tag);
        engine.tag(&report.image.image_id, &target)?;
        let digest = engine.push(&report.image.image_id, &target)?;
        report.reference = Some(target.clone());
        report.digest = Some(digest.clone());
        if self.cache {
            report.cache = self.push_cache(engine, &target)?;
        }
        let checked = match (loopback, reachable) {
            (true, true) => registry::manifest_digest(&target)?,
            (true, false) => {
                let unreachable = "the registry is on the engine's host, whose loopback we cannot reach to confirm it";
                return Ok(format!("Pushed {target} ({digest}) with {}; {unreachable}.", engine.name()));
            }
            (false, _) => {
                return Ok(format!("Pushed {target} ({digest}); the registry speaks HTTPS, which we do not ask."))
            }
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

    /// Builds each stage the final image holds no cache of, and pushes it
    /// beside `target`; their references.
    fn push_cache(&self, engine: &Engine, target: &str) -> Result<Vec<String>> {
        let mut pushed = Vec::new();
        for stage in self.spec.cache_stages()? {
            let spec = BuildSpec { target: Some(stage.clone()), ..self.spec.clone() };
            let built = engine.build(&spec, &standins::bases(engine, spec.offline)?)?;
            let cache = stage_cache(target, &stage);
            engine.tag(&built.info.id, &cache)?;
            engine.push(&built.info.id, &cache)?;
            pushed.push(cache);
        }
        Ok(pushed)
    }

    /// The image to push: one that passed the smoke checks with `--smoke`.
    fn image(&self, engine: &Engine) -> Result<ImageReport> {
        if self.smoke {
            let mut smoked = SmokeReport::default();
            let checks = Checks::defaults(self.spec.clone(), self.build, self.settings.clone());
            checks.run(engine, &mut smoked).map_err(|e| e.context("The smoke checks failed, so nothing was pushed"))?;
            return Ok(smoked.image);
        }
        match self.build {
            true => service::build_image(engine, &self.spec),
            false => service::obtain(engine, &self.spec, false)?.accept(),
        }
    }
}
