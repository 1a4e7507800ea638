//! `cargo xtask image`: builds the service's image and reports it as the
//! contract's JSON. The id and size come from `--iidfile` and
//! `docker image inspect`, never from build output, which the legacy
//! builder and BuildKit word differently.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use xshell::Shell;

use crate::{
    cli::{self, Args},
    diagnose, docker, offline, project, reference,
};

pub const DEFAULT_TAG: &str = "fastapi-server:latest";

/// The contract's output for `image`: these fields and no others.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    /// Empty when no image was built.
    pub image_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Bytes, as `docker image inspect` counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ImageReport {
    pub fn failure(tag: Option<String>, error: &anyhow::Error) -> ImageReport {
        ImageReport { tag, message: Some(format!("{error:#}")), ..ImageReport::default() }
    }

    /// Records how a task that went on from this image ended.
    pub fn settle(&mut self, outcome: Result<String>) {
        self.success = outcome.is_ok();
        self.message = Some(outcome.unwrap_or_else(|error| format!("{error:#}")));
    }
}

/// The contract's input, for `--input FILE`: the same as the flags.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InputData {
    dockerfile_path: String,
    build_context: Option<String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    tag: Option<String>,
}

/// The flags that say which image to build, shared by every task that
/// builds one.
#[derive(Debug, Default)]
pub struct ImageFlags {
    dockerfile: Option<Utf8PathBuf>,
    context: Option<Utf8PathBuf>,
    build_args: BTreeMap<String, String>,
    tag: Option<String>,
    offline: bool,
    no_cache: bool,
}

impl ImageFlags {
    /// Takes `flag` (and its value) if it is one of ours.
    pub fn accept(&mut self, flag: &str, args: &mut Args) -> Result<bool> {
        match flag {
            "--dockerfile" => self.dockerfile = Some(project::from_user(&args.value(flag)?)?),
            "--context" => self.context = Some(project::from_user(&args.value(flag)?)?),
            "--build-arg" => {
                let (key, value) = args.pair(flag)?;
                self.build_args.insert(key, value);
            }
            "--tag" => self.tag = Some(args.value(flag)?),
            "--offline" => self.offline = true,
            "--no-cache" => self.no_cache = true,
            "--input" => self.read_input(&args.value(flag)?)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `--input FILE` (or `-` for stdin) holds the contract's InputData.
    fn read_input(&mut self, file: &str) -> Result<()> {
        let text = if file == "-" {
            std::io::read_to_string(std::io::stdin()).context("cannot read the input from stdin")?
        } else {
            std::fs::read_to_string(file).map_err(|e| cli::usage(format!("cannot read the input file {file}: {e}")))?
        };
        let input: InputData = serde_json::from_str(&text)
            .map_err(|e| cli::usage(format!("the input {file} is not valid InputData: {e}")))?;
        self.dockerfile = Some(project::from_user(&input.dockerfile_path)?);
        self.context = input.build_context.as_deref().map(project::from_user).transpose()?;
        self.build_args.extend(input.build_args);
        self.tag = input.tag;
        Ok(())
    }

    pub fn tag(&self) -> Result<String> {
        reference::normalize(self.tag.as_deref().unwrap_or(DEFAULT_TAG)).map_err(cli::usage)
    }

    pub fn into_image(self) -> Result<Image> {
        let root = project::root();
        Ok(Image {
            tag: self.tag()?,
            dockerfile: self.dockerfile.unwrap_or_else(|| root.join("docker/Dockerfile")),
            context: self.context.unwrap_or(root),
            build_args: self.build_args,
            offline: offline::requested(self.offline),
            no_cache: self.no_cache,
        })
    }
}

#[derive(Debug)]
pub struct Image {
    pub tag: String,
    dockerfile: Utf8PathBuf,
    context: Utf8PathBuf,
    build_args: BTreeMap<String, String>,
    offline: bool,
    no_cache: bool,
}

impl Image {
    pub fn parse(args: &mut Args) -> Result<Image> {
        let mut flags = ImageFlags::default();
        while let Some(flag) = args.next_flag()? {
            if !flags.accept(&flag, args)? {
                return Err(cli::unknown_flag("image", &flag));
            }
        }
        flags.into_image()
    }

    pub fn dockerfile(&self) -> &Utf8Path {
        &self.dockerfile
    }

    pub fn context(&self) -> &Utf8Path {
        &self.context
    }

    /// Prints the report; true on success.
    pub fn run(self, sh: &Shell) -> bool {
        let report = self.build(sh).unwrap_or_else(|error| ImageReport::failure(Some(self.tag.clone()), &error));
        crate::emit(&report);
        report.success
    }

    /// The report of the image the tag names now, if there is one.
    pub fn existing(&self, sh: &Shell) -> Result<Option<ImageReport>> {
        Ok(docker::inspect_image(sh, &self.tag)?.map(|info| self.report(info, "Using the existing image", "")))
    }

    /// "{done} TAG (N MB){more}."
    fn report(&self, info: docker::ImageInfo, done: &str, more: &str) -> ImageReport {
        ImageReport {
            message: Some(format!("{done} {} ({:.1} MB){more}.", self.tag, info.size as f64 / 1e6)),
            image_id: info.id,
            tag: Some(self.tag.clone()),
            size: Some(info.size),
            success: true,
        }
    }

    pub fn build(&self, sh: &Shell) -> Result<ImageReport> {
        if !self.dockerfile.is_file() {
            bail!("The Dockerfile {} does not exist.", self.dockerfile);
        }
        if !self.context.is_dir() {
            bail!("The build context {} is not a directory.", self.context);
        }
        let mut build_args = self.build_args.clone();
        let stand_ins = if self.offline { Some(offline::StandIns::ensure(sh)?) } else { None };
        if let Some(stand_ins) = &stand_ins {
            stand_ins.add_build_args(&mut build_args);
        }

        let iidfile = project::scratch_dir()?.join(project::unique_name("iid"));
        let built = docker::stream(sh.cmd("docker").args(self.build_argv(&build_args, &iidfile)));
        let image_id = std::fs::read_to_string(&iidfile);
        let _ = std::fs::remove_file(&iidfile);
        let built = built?;
        if !built.status.success() {
            docker::ensure_engine(sh)?;
            let why = diagnose::build_failure(&built.output, self.context.as_str()).unwrap_or_else(|| {
                format!("docker build failed ({}). Its last words:\n{}", built.status, diagnose::tail(&built.output, 5))
            });
            bail!(why);
        }
        let image_id = image_id.context("docker build succeeded but wrote no image id")?.trim().to_string();
        let info =
            docker::inspect_image(sh, &image_id)?.with_context(|| format!("the engine has no image {image_id}"))?;
        let bases = stand_ins.map_or_else(|| "the Dockerfile's base images".to_string(), |s| s.describe());
        Ok(self.report(info, "Built", &format!(" on {bases}")))
    }

    /// `docker build`'s arguments. `--force-rm` because the legacy builder
    /// otherwise keeps the containers of failed steps.
    fn build_argv(&self, build_args: &BTreeMap<String, String>, iidfile: &Utf8Path) -> Vec<String> {
        let mut argv: Vec<String> = ["build", "--file", self.dockerfile.as_str(), "--iidfile", iidfile.as_str()]
            .into_iter()
            .chain(["--tag", &self.tag, "--force-rm"])
            .map(String::from)
            .collect();
        if self.no_cache {
            argv.push("--no-cache".to_string());
        }
        for (key, value) in build_args {
            argv.extend(["--build-arg".to_string(), format!("{key}={value}")]);
        }
        argv.push(self.context.to_string());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Image> {
        Image::parse(&mut Args::of(list))
    }

    #[test]
    fn defaults_follow_the_layout() {
        let image = parse(&[]).unwrap();
        assert_eq!(image.tag, "fastapi-server:latest");
        assert_eq!(image.dockerfile, project::root().join("docker/Dockerfile"));
        assert_eq!(image.context, project::root());
    }

    #[test]
    fn the_argv_carries_every_input() {
        let image = parse(&[
            "--dockerfile",
            "/d/Dockerfile",
            "--context=/ctx",
            "--tag",
            "app",
            "--build-arg",
            "B=2",
            "--build-arg",
            "A=1",
            "--no-cache",
        ])
        .unwrap();
        let argv = image.build_argv(&image.build_args, "/t/iid".into()).join(" ");
        assert_eq!(
            argv,
            "build --file /d/Dockerfile --iidfile /t/iid --tag app:latest --force-rm --no-cache --build-arg A=1 --build-arg B=2 /ctx"
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for (args, says) in [
            (&["--bogus"][..], "`--bogus` is not a flag of `cargo xtask image`"),
            (&["--build-arg", "NOVALUE"], "must have the form KEY=VALUE"),
            (&["--tag", "Bad Tag"], "is not a valid image tag"),
        ] {
            let error = parse(args).unwrap_err();
            assert!(error.downcast_ref::<cli::UsageError>().is_some());
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn input_data_is_the_contract() {
        let dir = std::env::temp_dir().join(project::unique_name("input"));
        std::fs::write(
            &dir,
            r#"{"dockerfilePath":"/d/Dockerfile","buildContext":"/ctx","buildArgs":{"A":"1"},"tag":"x:2"}"#,
        )
        .unwrap();
        let image = parse(&["--input", dir.to_str().unwrap()]).unwrap();
        std::fs::write(&dir, r#"{"dockerfilePath":"/d","extra":1}"#).unwrap();
        let error = parse(&["--input", dir.to_str().unwrap()]).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!((image.tag.as_str(), image.context.as_str(), image.build_args["A"].as_str()), ("x:2", "/ctx", "1"));
        assert!(error.to_string().contains("unknown field `extra`"), "{error}");
    }

    #[test]
    fn the_report_has_only_the_contract_fields() {
        let failed = ImageReport::failure(Some("t:1".into()), &anyhow::anyhow!("no"));
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"imageId":"","tag":"t:1","success":false,"message":"no"}"#
        );
    }
}
