//! A built image that its tag does not name yet. The tag moves to it only
//! once it passed its checks; until then the tag keeps the image it named
//! before. Builds of one tag on one engine wait for each other, so that
//! what each run reports is what the tag named when it finished; builds of
//! other tags, or on other engines, never wait for them.

use anyhow::{bail, Result};

use super::{contract, libraries};
use crate::{
    engine::{
        build::{Bases, BuildSpec, PYTHON_MINOR},
        Engine, ImageConfig,
    },
    model::{dockerfile::global_args, python},
    report::ImageReport,
    standins,
    sys::{
        hash,
        project::{self, Lock},
    },
};

/// The machine-wide lock of the builds of `tag` on the engine `engine`
/// (`Engine::identity`): shared by every checkout of the machine, since
/// they share the engine. A 64-bit hash of the two: two pairs meet on one
/// name once in some 10^19, and the file goes when the lock does.
fn lock_name(engine: &str, tag: &str) -> String {
    // A tag holds no newline, so no two pairs make one text.
    format!("build-{:016x}", hash::fnv1a(format!("{engine}\n{tag}").as_bytes()))
}

/// The image's Python (X.Y), as the build args and the Dockerfile's
/// global ARGs say it.
fn image_python(spec: &BuildSpec, bases: &Bases) -> Option<String> {
    let dockerfile = std::fs::read_to_string(&spec.dockerfile).unwrap_or_default();
    let args = bases.build_args(&spec.build_args);
    args.get(PYTHON_MINOR).cloned().or_else(|| global_args(&dockerfile, &args).remove(PYTHON_MINOR))
}

/// Fails, before anything is built, when the project's pyproject.toml asks
/// for a Python (`requires-python`) that the image's, `minor`, would not
/// satisfy.
fn python_asked(spec: &BuildSpec, minor: Option<&str>) -> Result<()> {
    let Ok(pyproject) = std::fs::read_to_string(spec.context.join("pyproject.toml")) else { return Ok(()) };
    let Some(asked) = python::requires_python(&pyproject) else { return Ok(()) };
    let Some(minor) = minor else { return Ok(()) };
    if python::satisfies(&asked, minor) == Some(false) {
        let offline = if spec.offline { " (offline: 3.9, 3.11 or 3.13, one for each Debian release)" } else { "" };
        bail!(
            "The project's pyproject.toml asks for Python {asked} (requires-python), and the image's would be \
             {minor}: give --python X.Y{offline}, or PYTHON_MINOR in docker/build-args."
        );
    }
    Ok(())
}

pub struct Candidate<'a> {
    engine: &'a Engine,
    tag: String,
    pub report: ImageReport,
    pub config: ImageConfig,
    /// The tag named this very image already, before the build.
    pub unchanged: bool,
    /// The tag named an image before the build.
    tagged_before: bool,
    _one_build_of_the_tag: Lock,
}

impl<'a> Candidate<'a> {
    pub fn build(engine: &'a Engine, spec: &BuildSpec) -> Result<Candidate<'a>> {
        let lock = project::machine_lock(&lock_name(&engine.identity(), &spec.tag))?;
        let before = engine.inspect_image(&spec.tag)?.map(|info| info.id);
        let bases = standins::bases(engine, spec.offline, &spec.build_args)?;
        let python = image_python(spec, &bases);
        python_asked(spec, python.as_deref())?;
        libraries::prepare(spec, python.as_deref())?;
        let mut built = engine.build(spec, &bases)?;
        if !contract::differs(&built.info.config, &spec.contract).is_empty() {
            eprintln!("The build reused steps built with other build args; building again without the cache.");
            built = engine.build(&BuildSpec { no_cache: true, ..spec.clone() }, &bases)?;
        }
        if let Some((key, asked, found)) = contract::differs(&built.info.config, &spec.contract).into_iter().next() {
            bail!("The image built with {key}={asked} says {found}: the Dockerfile does not pass {key} on.");
        }
        Ok(Candidate {
            engine,
            tag: spec.tag.clone(),
            report: ImageReport::of_image(
                &spec.tag,
                &built.info,
                "Built",
                &format!(" with {} on {}", engine.name(), built.bases),
            ),
            unchanged: before.as_deref() == Some(built.info.id.as_str()),
            tagged_before: before.is_some(),
            config: built.info.config,
            _one_build_of_the_tag: lock,
        })
    }

    /// Moves the tag to the candidate, which passed.
    pub fn promote(self) -> Result<ImageReport> {
        if !self.unchanged {
            self.engine.tag(&self.report.image_id, &self.tag)?;
        }
        Ok(self.report)
    }

    /// `error`, and that the tag did not move.
    pub fn reject(&self, error: anyhow::Error) -> anyhow::Error {
        if self.unchanged {
            return error;
        }
        let tag = match self.tagged_before {
            true => format!("{} still names the image it named before", self.tag),
            false => format!("{} names no image, as before", self.tag),
        };
        anyhow::anyhow!("{error:#}\n{tag}; this build is the untagged image {}.", self.report.image_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_share_a_lock_only_with_builds_of_their_tag_on_their_engine() {
        assert_eq!(lock_name("docker local", "app:1"), lock_name("docker local", "app:1"));
        // Pinned: checkouts built by other Rust versions must find the same file.
        assert_eq!(lock_name("docker local", "app:1"), "build-4b31a74ee9777f62");
        let tags: std::collections::BTreeSet<String> =
            (0..10_000).map(|i| lock_name("docker local", &format!("t{i}:x"))).collect();
        assert_eq!(tags.len(), 10_000);
        let engines = ["docker local", "docker tcp://10.231.7.2:2375", "docker tcp://10.231.7.3:2375", "podman local"];
        let engines: std::collections::BTreeSet<String> = engines.iter().map(|e| lock_name(e, "app:1")).collect();
        assert_eq!(engines.len(), 4);
        // The engine's name and the tag do not run into each other.
        assert_ne!(lock_name("docker local", "app:1"), lock_name("docker", "local app:1"));
    }
}
