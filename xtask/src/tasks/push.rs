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
    cli::{NoBuildFlag, ProjectChecks, Service, ServiceFlags},
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
        Obtained, READY_TIMEOUT,
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
    #[command(flatten)]
    no_build: NoBuildFlag,
    /// Run the smoke checks first, and push only an image that passed
    #[arg(long)]
    smoke: bool,
    /// Also push the builder stages' cache, for --cache-from on a fresh runner
    #[arg(long)]
    cache: bool,
    #[command(flatten)]
    service: ServiceFlags,
}

pub struct Push {
    spec: BuildSpec,
    registry: String,
    build: bool,
    smoke: bool,
    cache: bool,
    settings: Settings,
    /// The project's checks, for `--smoke`.
    checks: ProjectChecks,
    engine: Choice,
}

impl Task for Push {
    type Flags = Flags;
    type Report = PushReport;

    fn new(flags: Flags) -> Result<Push> {
        let Service { mut spec, settings, checks, engine } = flags.service.read()?;
        if flags.cache {
            // BuildKit puts its cache in the image only when asked; the
            // legacy builder reads the images' own layers.
            spec.build_args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
        }
        let (registry, build, smoke, cache) = (flags.registry, flags.no_build.build(), flags.smoke, flags.cache);
        Ok(Push { spec, registry, build, smoke, cache, settings, checks, engine })
    }

    fn run(self) -> Done<PushReport> {
        let mut report = PushReport::default();
        let outcome = self.push(&self.engine.engine(), &mut report);
        report.image.settle(outcome);
        report.into()
    }
}

impl Push {
    /// Checks the registry, obtains the image (built and checked, not
    /// tagged yet), pushes it as `HOST/NAME:TAG`, asks the registry, and
    /// only then moves the local tag. On any failure, a signal included,
    /// the `HOST/NAME:TAG` tag goes and the local tag stays.
    fn push(&self, engine: &Engine, report: &mut PushReport) -> Result<String> {
        let reach = Reach::of(&self.registry, engine);
        // Asked first, so that a push that cannot work costs no build.
        match reach {
            Reach::Loopback => registry::check(&self.registry, engine.kind().name())?,
            Reach::Https => {
                registry::answering(&self.registry)?;
            }
            Reach::EngineHost => {}
        }
        let image = self.image(engine)?;
        report.image = image.report().clone();
        let target = reference::in_registry(&self.registry, &self.spec.tag);
        let pushed = RegistryTag::of(engine, &report.image.image_id, &target).map_err(|e| image.reject(e))?;
        let outcome = self.push_and_ask(engine, reach, &target, report).map_err(|e| image.reject(e))?;
        report.image = image.accept()?;
        pushed.keep();
        Ok(outcome)
    }

    fn push_and_ask(&self, engine: &Engine, reach: Reach, target: &str, report: &mut PushReport) -> Result<String> {
        let digest = engine.push(&report.image.image_id, target)?;
        report.reference = Some(target.to_string());
        report.digest = Some(digest.clone());
        if self.cache {
            report.cache = self.push_cache(engine, target)?;
        }
        let checked = match reach {
            Reach::Loopback => registry::manifest_digest(target)?,
            Reach::EngineHost => {
                let unreachable = "the registry is on the engine's host, whose loopback we cannot reach to confirm it";
                return Ok(format!("Pushed {target} ({digest}) with {}; {unreachable}.", engine.name()));
            }
            Reach::Https => {
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
            let built = engine.build(&spec, &standins::bases(engine, spec.offline, &spec.build_args)?)?;
            let cache = stage_cache(target, &stage);
            engine.tag(&built.info.id, &cache)?;
            engine.push(&built.info.id, &cache)?;
            pushed.push(cache);
        }
        Ok(pushed)
    }

    /// The image to push, not tagged yet: one that passed the smoke checks
    /// with `--smoke`.
    fn image<'a>(&self, engine: &'a Engine) -> Result<Obtained<'a>> {
        if self.smoke {
            let checks = Checks {
                spec: self.spec.clone(),
                build: self.build,
                requests: self.checks.requests.clone(),
                headers: self.checks.headers.clone(),
                ready: self.checks.ready.clone(),
                settings: self.settings.clone(),
                timeout: READY_TIMEOUT,
                stack: Vec::new(),
            };
            let checked = checks.check(engine, &mut SmokeReport::default());
            let (image, _) = checked.map_err(|e| e.context("The smoke checks failed, so nothing was pushed"))?;
            return Ok(image);
        }
        match self.build {
            true => service::checked_build(engine, &self.spec),
            false => service::obtain(engine, &self.spec, false),
        }
    }
}

/// Where the registry is, as it decides what we ask it before the build
/// and after the push.
#[derive(Clone, Copy)]
enum Reach {
    /// On this machine's loopback, in plain HTTP: asked before and after.
    Loopback,
    /// On a remote engine's loopback, on the engine's host, where we cannot
    /// reach it: the engine alone speaks to it.
    EngineHost,
    /// Elsewhere, in HTTPS: asked only whether it answers.
    Https,
}

impl Reach {
    fn of(registry: &str, engine: &Engine) -> Reach {
        match (reference::speaks_plain_http(registry), engine.is_remote()) {
            (true, false) => Reach::Loopback,
            (true, true) => Reach::EngineHost,
            (false, _) => Reach::Https,
        }
    }
}

/// The `HOST/NAME:TAG` tag of a push under way: removed when it drops,
/// after a failure or a signal, unless the push was verified and `keep()`
/// called. So a failed push leaves no tag that names what did not pass.
struct RegistryTag<'a> {
    engine: &'a Engine,
    reference: String,
    keep: bool,
}

impl<'a> RegistryTag<'a> {
    fn of(engine: &'a Engine, image: &str, reference: &str) -> Result<RegistryTag<'a>> {
        engine.tag(image, reference)?;
        Ok(RegistryTag { engine, reference: reference.to_string(), keep: false })
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for RegistryTag<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.engine.remove_images(&[&self.reference]);
        }
    }
}
