//! Building an image: the one build command that `image`, every task that
//! builds, and the bench's plain-engine timing all run. The id and size
//! come from `--iidfile` and an inspect, never from build output, which
//! the legacy builder and BuildKit word differently.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::{diagnose, offline::StandIns, Engine, ImageInfo};
use crate::sys::{
    process::{self, CommandLine},
    project,
};

/// What to build.
#[derive(Debug)]
pub struct BuildSpec {
    /// Normalised: `NAME:TAG`.
    pub tag: String,
    pub dockerfile: Utf8PathBuf,
    pub context: Utf8PathBuf,
    pub build_args: BTreeMap<String, String>,
    /// Build on stand-in base images made locally.
    pub offline: bool,
    pub no_cache: bool,
}

/// The base images a build stands on.
pub enum Bases {
    /// The Dockerfile's own (or those the build args name).
    Dockerfile,
    StandIns(StandIns),
}

impl Bases {
    /// Points the Dockerfile at the stand-ins, unless the user already
    /// chose a base with `--build-arg`.
    pub fn add_build_args(&self, build_args: &mut BTreeMap<String, String>) {
        if let Bases::StandIns(stand_ins) = self {
            for (key, value) in stand_ins.build_args() {
                build_args.entry(key.to_string()).or_insert_with(|| value.to_string());
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Bases::Dockerfile => "the Dockerfile's base images".to_string(),
            Bases::StandIns(stand_ins) => stand_ins.describe(),
        }
    }
}

/// A built image, and what it was built on.
pub struct Built {
    pub info: ImageInfo,
    pub bases: String,
}

impl Engine {
    /// The stand-ins, made first when missing, when `offline`.
    pub fn bases(&self, offline: bool) -> Result<Bases> {
        Ok(if offline { Bases::StandIns(StandIns::ensure(self)?) } else { Bases::Dockerfile })
    }

    /// The build's command line. `--force-rm` because the legacy builder
    /// otherwise keeps the containers of failed steps. Build-arg values
    /// are masked wherever the command is shown: they may hold tokens.
    pub fn build_command(&self, spec: &BuildSpec, bases: &Bases, iidfile: &Utf8Path) -> CommandLine {
        let mut build_args = spec.build_args.clone();
        bases.add_build_args(&mut build_args);
        let mut line = self.cli().args(["build", "--file", spec.dockerfile.as_str(), "--iidfile", iidfile.as_str()]);
        line = line.args(["--tag", &spec.tag, "--force-rm"]);
        if spec.no_cache {
            line = line.arg("--no-cache");
        }
        for (key, value) in &build_args {
            line = line.arg("--build-arg").masked_pair(key, value);
        }
        line.arg(spec.context.as_str())
    }

    /// Builds `spec` and tags it; on failure, one sentence saying why, and
    /// the tag still names the image it named before.
    pub fn build(&self, spec: &BuildSpec) -> Result<Built> {
        if !spec.dockerfile.is_file() {
            bail!("The Dockerfile {} does not exist.", spec.dockerfile);
        }
        if !spec.context.is_dir() {
            bail!("The build context {} is not a directory.", spec.context);
        }
        let bases = self.bases(spec.offline)?;
        let iidfile = project::scratch_dir()?.join(project::unique_name("iid"));
        let built = process::stream(&self.build_command(spec, &bases, &iidfile));
        let image_id = std::fs::read_to_string(&iidfile);
        let _ = std::fs::remove_file(&iidfile);
        let built = built?;
        if !built.status.success() {
            self.version()?;
            let why = diagnose::build_failure(&built.output, spec.context.as_str()).unwrap_or_else(|| {
                format!("docker build failed ({}). Its last words:\n{}", built.status, diagnose::tail(&built.output, 5))
            });
            bail!(why);
        }
        let image_id = image_id.context("docker build succeeded but wrote no image id")?.trim().to_string();
        let info = self.inspect_image(&image_id)?.with_context(|| format!("the engine has no image {image_id}"))?;
        Ok(Built { info, bases: bases.describe() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_command_carries_every_input_and_shows_no_build_arg_value() {
        let spec = BuildSpec {
            tag: "app:latest".into(),
            dockerfile: "/d/Dockerfile".into(),
            context: "/ctx".into(),
            build_args: BTreeMap::from([("B".into(), "2".into()), ("A".into(), "1".into())]),
            offline: false,
            no_cache: true,
        };
        let line = Engine::default().build_command(&spec, &Bases::Dockerfile, "/t/iid".into());
        assert_eq!(
            line.unmasked(),
            "docker build --file /d/Dockerfile --iidfile /t/iid --tag app:latest --force-rm --no-cache --build-arg A=1 --build-arg B=2 /ctx"
        );
        assert_eq!(
            line.to_string(),
            "docker build --file /d/Dockerfile --iidfile /t/iid --tag app:latest --force-rm --no-cache --build-arg A=*** --build-arg B=*** /ctx"
        );
    }
}
