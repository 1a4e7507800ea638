//! Building an image: the one build command that `image`, every task that
//! builds, and the bench's plain-engine timing all run. The id and size
//! come from `--iidfile` and an inspect, never from build output, which
//! the legacy builder and BuildKit word differently.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::{Builder, Engine, ImageInfo};
use crate::{
    model::{
        contract::Asked,
        diagnose,
        dockerfile::{self, Dockerfile},
    },
    sys::{mask, process::CommandLine, project, signals},
};

/// The build args of our Dockerfile that choose its bases.
pub const BUILDER_IMAGE: &str = "BUILDER_IMAGE";
pub const RUNTIME_IMAGE: &str = "RUNTIME_IMAGE";
pub const PYTHON_MINOR: &str = "PYTHON_MINOR";

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildSpec {
    /// Normalised: `NAME:TAG`. The build itself leaves it alone: the tag
    /// moves to the image only once it passed its checks (`Engine::tag`).
    pub tag: String,
    pub dockerfile: Utf8PathBuf,
    pub context: Utf8PathBuf,
    /// The build args, but the contract's.
    pub build_args: BTreeMap<String, String>,
    /// The service contract the build asks for, typed: our Dockerfile
    /// takes it as build args.
    pub contract: Asked,
    /// Build on stand-in base images made locally.
    pub offline: bool,
    pub no_cache: bool,
    /// BuildKit secret mounts: in no layer and no history.
    pub secrets: Vec<Secret>,
    /// Images in a registry whose layers may stand in for build steps;
    /// `build` adds the stage caches `push --cache` published beside them.
    pub cache_from: Vec<String>,
    /// Build this stage, not the last.
    pub target: Option<String>,
}

/// Where `push --cache` publishes the cache of stage `stage` of the image
/// `reference`: beside it, as `REFERENCE-cache-STAGE`.
pub fn stage_cache(reference: &str, stage: &str) -> String {
    format!("{reference}-cache-{stage}")
}

impl BuildSpec {
    /// Every build arg the Dockerfile is given: the build's own and the
    /// contract's.
    pub fn args(&self) -> BTreeMap<String, String> {
        let contract = self.contract.build_args().into_iter().map(|(key, value)| (key.to_string(), value));
        self.build_args.clone().into_iter().chain(contract).collect()
    }

    /// The stages whose cache the final image does not hold: the named
    /// stages before the last. A multi-stage image carries none of its
    /// builder's layers, so without them a fresh runner re-runs pip.
    pub fn cache_stages(&self) -> Result<Vec<String>> {
        let text =
            std::fs::read_to_string(&self.dockerfile).with_context(|| format!("cannot read {}", self.dockerfile))?;
        let dockerfile = Dockerfile::parse(&text);
        let earlier = &dockerfile.stages[..dockerfile.stages.len().saturating_sub(1)];
        Ok(earlier.iter().filter_map(|stage| stage.name.clone()).collect())
    }
}

/// `--secret id=NAME,src=FILE|env=VAR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub id: String,
    pub source: SecretSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(Utf8PathBuf),
    Env(String),
}

const SECRET_FORM: &str = "must have the form id=NAME,src=FILE or id=NAME,env=VAR";

impl Secret {
    /// `id=NAME,src=FILE` or `id=NAME,env=VAR`, as docker's `--secret` reads it.
    pub fn parse(value: &str) -> Result<Secret, String> {
        let (mut id, mut source) = (None, None);
        for part in value.split(',') {
            match part.split_once('=') {
                Some(("id", name)) if !name.is_empty() => id = Some(name.to_string()),
                Some(("src" | "source", file)) if !file.is_empty() && source.is_none() => {
                    source = Some(SecretSource::File(file.into()))
                }
                Some(("env", var)) if !var.is_empty() && source.is_none() => {
                    source = Some(SecretSource::Env(var.into()))
                }
                _ => return Err(SECRET_FORM.into()),
            }
        }
        match (id, source) {
            (Some(id), Some(source)) => Ok(Secret { id, source }),
            _ => Err(SECRET_FORM.into()),
        }
    }
}

/// The files the engine reads the secrets from. A secret from the
/// environment is written to a file only we can read, removed on drop: its
/// value never stands on a command line.
struct SecretFiles {
    files: Vec<(String, Utf8PathBuf)>,
    written: Vec<Utf8PathBuf>,
}

impl SecretFiles {
    fn write(secrets: &[Secret]) -> Result<SecretFiles> {
        let mut made = SecretFiles { files: Vec::new(), written: Vec::new() };
        for secret in secrets {
            let path = match &secret.source {
                SecretSource::File(path) if path.is_file() => {
                    // A secret's file is small; one that is not is no token to mask.
                    if path.metadata().is_ok_and(|meta| meta.len() <= 4096) {
                        std::fs::read_to_string(path).iter().flat_map(|text| text.lines()).for_each(mask::secret);
                    }
                    path.clone()
                }
                SecretSource::File(path) => {
                    bail!("The secret `{}` is read from {path}, which is not a file.", secret.id)
                }
                SecretSource::Env(var) => {
                    let Some(value) = std::env::var_os(var) else {
                        bail!(
                            "The secret `{}` is read from the environment variable {var}, which is not set.",
                            secret.id
                        )
                    };
                    mask::secret(&value.to_string_lossy());
                    let path = project::scratch_dir()?.join(project::unique_name("secret"));
                    made.written.push(path.clone());
                    write_private(&path, value.as_encoded_bytes())?;
                    path
                }
            };
            made.files.push((secret.id.clone(), path));
        }
        Ok(made)
    }
}

impl Drop for SecretFiles {
    fn drop(&mut self) {
        for path in &self.written {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes `bytes` to a new file that only its owner may read.
fn write_private(path: &Utf8Path, bytes: &[u8]) -> Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {path}"))?;
    file.write_all(bytes).with_context(|| format!("cannot write {path}"))
}

/// The offline stand-in base images (made by `standins`), ready in the engine.
pub struct StandIns {
    pub builder: String,
    pub runtime: String,
    /// X.Y, which names the site-packages folder.
    pub python: String,
}

impl StandIns {
    /// The build args that point the Dockerfile at the stand-ins.
    pub fn build_args(&self) -> [(&'static str, &str); 3] {
        [(BUILDER_IMAGE, &self.builder), (RUNTIME_IMAGE, &self.runtime), (PYTHON_MINOR, &self.python)]
    }
}

/// The base images a build stands on.
pub enum Bases {
    /// The Dockerfile's own (or those the build args name).
    Dockerfile,
    StandIns(StandIns),
}

impl Bases {
    /// The build args a build runs with: `given`, plus those that point the
    /// Dockerfile at the stand-ins where the user chose no base of their own.
    pub fn build_args(&self, given: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut build_args = given.clone();
        if let Bases::StandIns(stand_ins) = self {
            for (key, value) in stand_ins.build_args() {
                build_args.entry(key.to_string()).or_insert_with(|| value.to_string());
            }
        }
        build_args
    }

    /// The bases' Python (X.Y), where we know it.
    fn python(&self) -> Option<&str> {
        match self {
            Bases::Dockerfile => None,
            Bases::StandIns(stand_ins) => Some(&stand_ins.python),
        }
    }

    /// The bases a build with `given` build args stood on, as they were:
    /// the ones the build args name (the user's over the stand-ins'), and
    /// the Python the `built` image carries.
    pub fn describe(&self, given: &BTreeMap<String, String>, built: &ImageInfo) -> String {
        let args = self.build_args(given);
        let python = built.env("PYTHON_VERSION").map_or(String::new(), |version| format!(" (Python {version})"));
        let names = (args.get(BUILDER_IMAGE), args.get(RUNTIME_IMAGE));
        match (self, names) {
            (Bases::StandIns(ours), (Some(builder), Some(runtime)))
                if *builder == ours.builder && *runtime == ours.runtime =>
            {
                format!("offline base images {builder} and {runtime}{python}")
            }
            (_, (Some(builder), Some(runtime))) => format!("base images {builder} and {runtime}{python}"),
            _ => format!("the Dockerfile's base images{python}"),
        }
    }
}

/// A built image, and what it was built on.
pub struct Built {
    pub info: ImageInfo,
    pub bases: String,
}

impl Engine {
    /// The build's command line. It names no tag: see `BuildSpec::tag`.
    /// `--force-rm` because the legacy builder otherwise keeps the
    /// containers of failed steps. Build-arg values are masked wherever the
    /// command is shown: they may hold tokens.
    pub fn build_command(
        &self,
        spec: &BuildSpec,
        bases: &Bases,
        secrets: &[(String, Utf8PathBuf)],
        iidfile: &Utf8Path,
    ) -> CommandLine {
        let line = self.cli().args(["build", "--file", spec.dockerfile.as_str(), "--iidfile", iidfile.as_str()]);
        let line = line.args(self.kind().can().docker_format.iter().copied());
        let mut line = line.arg("--force-rm").args(spec.no_cache.then_some("--no-cache"));
        line = line.args(spec.target.iter().flat_map(|target| ["--target", target.as_str()]));
        line = line.args(spec.cache_from.iter().flat_map(|image| ["--cache-from", image.as_str()]));
        for (key, value) in &bases.build_args(&spec.args()) {
            line = line.arg("--build-arg").masked_pair(key, value);
        }
        for (id, path) in secrets {
            line = line.arg("--secret").arg(format!("id={id},src={path}"));
        }
        line.arg(spec.context.as_str())
    }

    /// Builds `spec` on `bases` into an untagged image; on failure, one
    /// sentence saying why.
    pub fn build(&self, spec: &BuildSpec, bases: &Bases) -> Result<Built> {
        if !spec.dockerfile.is_file() {
            bail!("The Dockerfile {} does not exist.", spec.dockerfile);
        }
        let text =
            std::fs::read_to_string(&spec.dockerfile).with_context(|| format!("cannot read {}", spec.dockerfile))?;
        if let Some(said) = dockerfile::unknown_instruction(&text) {
            bail!("The Dockerfile does not parse: {said}");
        }
        if !spec.context.is_dir() {
            bail!("The build context {} is not a directory.", spec.context);
        }
        if !spec.secrets.is_empty() && self.builder() == Builder::Legacy {
            bail!(
                "`--secret` needs BuildKit, and this engine builds with the legacy builder, which has no secret \
                 mounts: set DOCKER_BUILDKIT=1 (Docker 18.09 or later), or install buildx."
            );
        }
        let spec = &BuildSpec { cache_from: self.cache_sources(spec)?, ..spec.clone() };
        let secrets = SecretFiles::write(&spec.secrets)?;
        let iidfile = project::scratch_dir()?.join(project::unique_name("iid"));
        let working_before = self.working_containers();
        let built = self.stream(&self.build_command(spec, bases, &secrets.files, &iidfile));
        // A signal, or a cancel (`watch`: newer files came), ended it.
        if signals::received().is_some() || signals::cancelled() {
            self.remove_working_containers(&working_before);
        }
        drop(secrets);
        let image_id = std::fs::read_to_string(&iidfile);
        let _ = std::fs::remove_file(&iidfile);
        let built = built?;
        if !built.status.success() {
            self.version()?;
            bail!(diagnose::build_failure(&built.output, &self.situation(spec, bases)));
        }
        let image_id = image_id.context("the build succeeded but wrote no image id")?.trim().to_string();
        let info = self.inspect_image(&image_id)?.with_context(|| format!("the engine has no image {image_id}"))?;
        Ok(Built { bases: bases.describe(&spec.build_args, &info), info })
    }

    /// What `--cache-from` passes to the build: each image after its stage
    /// caches. The legacy builder uses only images it has, so it pulls
    /// them first; BuildKit reads their inline cache from the registry.
    fn cache_sources(&self, spec: &BuildSpec) -> Result<Vec<String>> {
        if spec.cache_from.is_empty() {
            return Ok(Vec::new());
        }
        if !self.kind().can().cache_from {
            bail!(
                "--cache-from is for Docker's builders here; {} keeps its own layer cache (see docs/reference.md).",
                self.name()
            );
        }
        let stages = spec.cache_stages()?;
        let sources = spec.cache_from.iter().flat_map(|image| {
            stages.iter().map(|stage| stage_cache(image, stage)).chain(std::iter::once(image.clone()))
        });
        let sources: Vec<String> = sources.collect();
        if self.builder() != Builder::Legacy {
            return Ok(sources);
        }
        Ok(sources.into_iter().filter(|image| self.pull(image)).collect())
    }

    fn working_containers_command(&self) -> CommandLine {
        self.cli().args(["ps", "--all", "--external", "--no-trunc", "--format", "{{.ID}} {{.Status}}"]).cleanup()
    }

    /// Buildah's working containers (podman lists them as `Storage`, with
    /// `--external` only): a build that a signal or a cancel ends leaves
    /// its own behind, mounted. None for Docker, whose builders leave none.
    fn working_containers(&self) -> Vec<String> {
        if !self.kind().can().leaves_build_containers {
            return Vec::new();
        }
        let listed = self.read(&self.working_containers_command()).unwrap_or_default();
        listed.lines().filter_map(|line| line.strip_suffix(" Storage")).map(str::to_string).collect()
    }

    /// Removes the working containers that appeared since `before`: those
    /// of the build a signal ended. (A build of another run that started
    /// meanwhile would lose its own too; it is interrupted as well then.)
    fn remove_working_containers(&self, before: &[String]) {
        let left: Vec<String> = self.working_containers().into_iter().filter(|id| !before.contains(id)).collect();
        let _ = self.remove_containers(&left);
    }

    fn pull_command(&self, image: &str) -> CommandLine {
        self.cli().args(["pull", "--quiet", image])
    }

    /// Pulls `image`; false, with a note, when the registry has none yet.
    fn pull(&self, image: &str) -> bool {
        match self.read(&self.pull_command(image)) {
            Ok(_) => true,
            Err(error) => {
                eprintln!("No cache from {image}: {}", format!("{error:#}").lines().last().unwrap_or_default());
                false
            }
        }
    }

    fn tag_command(&self, image: &str, tag: &str) -> CommandLine {
        self.cli().args(["tag", image, tag])
    }

    /// Points `tag` at `image`.
    pub fn tag(&self, image: &str, tag: &str) -> Result<()> {
        self.read(&self.tag_command(image, tag)).map(drop)
    }

    /// What a failed build's diagnosis needs to know of it.
    fn situation(&self, spec: &BuildSpec, bases: &Bases) -> diagnose::Situation {
        diagnose::Situation {
            context: spec.context.to_string(),
            offline: spec.offline,
            dockerfile: std::fs::read_to_string(&spec.dockerfile).unwrap_or_default(),
            build_args: bases.build_args(&spec.args()),
            bases_python: bases.python().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Kind;

    #[test]
    fn the_build_command_carries_every_input_and_shows_no_secret_build_arg() {
        let spec = BuildSpec {
            tag: "app:latest".into(),
            dockerfile: "/d/Dockerfile".into(),
            context: "/ctx".into(),
            build_args: BTreeMap::from([("B".into(), "2".into()), ("A_TOKEN".into(), "1".into())]),
            contract: Asked { port: Some(9000), ..Asked::default() },
            offline: false,
            no_cache: true,
            secrets: vec![Secret::parse("id=token,env=TOKEN").unwrap()],
            cache_from: vec!["r:5/app:1-cache-builder".into(), "r:5/app:1".into()],
            target: Some("builder".into()),
        };
        let secrets = [("token".to_string(), Utf8PathBuf::from("/t/secret"))];
        let line = Engine::default().build_command(&spec, &Bases::Dockerfile, &secrets, "/t/iid".into());
        assert_eq!(
            line.unmasked(),
            "docker build --file /d/Dockerfile --iidfile /t/iid --force-rm --no-cache --target builder --cache-from r:5/app:1-cache-builder --cache-from r:5/app:1 --build-arg APP_PORT=9000 --build-arg A_TOKEN=1 --build-arg B=2 --secret id=token,src=/t/secret /ctx"
        );
        assert_eq!(
            line.to_string(),
            "docker build --file /d/Dockerfile --iidfile /t/iid --force-rm --no-cache --target builder --cache-from r:5/app:1-cache-builder --cache-from r:5/app:1 --build-arg APP_PORT=9000 --build-arg A_TOKEN=*** --build-arg B=2 --secret id=token,src=/t/secret /ctx"
        );
        assert_eq!(Engine::default().tag_command("sha256:a", "t:1").to_string(), "docker tag sha256:a t:1");
        let podman = Engine::of(Kind::Podman).build_command(&spec, &Bases::Dockerfile, &[], "/t/iid".into());
        assert_eq!(
            podman.to_string(),
            "podman build --file /d/Dockerfile --iidfile /t/iid --format docker --force-rm --no-cache --target builder --cache-from r:5/app:1-cache-builder --cache-from r:5/app:1 --build-arg APP_PORT=9000 --build-arg A_TOKEN=*** --build-arg B=2 /ctx"
        );
    }

    #[test]
    fn the_bases_are_described_as_the_build_used_them() {
        let stand_ins =
            Bases::StandIns(StandIns { builder: "b:1".into(), runtime: "r:1".into(), python: "3.11".into() });
        let built: ImageInfo =
            serde_json::from_str(r#"{"Id":"sha256:a","Size":1,"Config":{"Env":["PYTHON_VERSION=3.9.2"]}}"#).unwrap();
        assert_eq!(stand_ins.describe(&BTreeMap::new(), &built), "offline base images b:1 and r:1 (Python 3.9.2)");
        let own = BTreeMap::from([
            (BUILDER_IMAGE.to_string(), "mine:3.9".to_string()),
            (RUNTIME_IMAGE.to_string(), "mine:3.9-slim".to_string()),
        ]);
        assert_eq!(stand_ins.describe(&own, &built), "base images mine:3.9 and mine:3.9-slim (Python 3.9.2)");
        assert_eq!(Bases::Dockerfile.describe(&BTreeMap::new(), &built), "the Dockerfile's base images (Python 3.9.2)");
    }

    #[test]
    fn secrets_are_read_as_docker_reads_them() {
        assert_eq!(
            Secret::parse("id=token,src=/run/t").unwrap(),
            Secret { id: "token".into(), source: SecretSource::File("/run/t".into()) }
        );
        assert_eq!(Secret::parse("env=TOKEN,id=t").unwrap().source, SecretSource::Env("TOKEN".into()));
        for bad in ["", "id=t", "src=/x", "id=t,src=/x,env=Y", "id=,src=/x", "id=t,mode=0400"] {
            assert!(Secret::parse(bad).unwrap_err().contains("must have the form"), "{bad}");
        }
    }

    #[test]
    fn a_secret_from_the_environment_is_a_private_file_removed_after_the_build() {
        use std::os::unix::fs::PermissionsExt;
        std::env::set_var("XTASK_TEST_SECRET", "s3cret");
        let files = SecretFiles::write(&[Secret::parse("id=t,env=XTASK_TEST_SECRET").unwrap()]).unwrap();
        let path = files.files[0].1.clone();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        drop(files);
        assert!(!path.exists());
        let unset = SecretFiles::write(&[Secret::parse("id=t,env=XTASK_TEST_UNSET").unwrap()]).err().unwrap();
        assert!(unset.to_string().contains("XTASK_TEST_UNSET, which is not set"), "{unset}");
    }
}
