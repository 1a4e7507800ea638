//! The flags that say which image to build, shared by every task that
//! builds one, and the contract's InputData (`--input FILE`), which says
//! the same as JSON.

use std::collections::BTreeMap;

use anyhow::Result;
use camino::Utf8PathBuf;
use serde::Deserialize;

use super::{build_args_file, pair, request_path, usage, values, OfflineFlag, IMAGE_FLAGS};
use crate::{
    engine::build::{BuildSpec, Secret, PYTHON_MINOR},
    model::contract::{Asked, APP_MODULE, APP_PORT, DEFAULT_APP, DEFAULT_HEALTH, DEFAULT_PORT, HEALTH_PATH},
    model::reference,
    standins,
    sys::{mask, project},
};

pub const DEFAULT_TAG: &str = "fastapi-server:latest";

/// The build args that name what the image is (its contract, its bases):
/// shown as they are. Every other build arg's value may be a token, and
/// is masked wherever it would be printed.
const DEFAULT_DOCKERFILE: &str = "docker/Dockerfile";
/// The key of docker/build-args that names the image, as `--tag` does.
pub const IMAGE_TAG: &str = "IMAGE_TAG";

/// The contract's input, for `--input FILE`: the same as the flags.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InputData {
    dockerfile_path: String,
    build_context: Option<String>,
    #[serde(default)]
    build_args: BTreeMap<String, String>,
    tag: Option<String>,
}

/// The image flags as given. `--input` is read as it comes, and the flags
/// override what it says, whatever their order.
/// (`Parser` too, so that a test can read these flags alone.)
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(next_help_heading = IMAGE_FLAGS)]
pub struct ImageFlags {
    /// The contract's InputData as JSON: {"dockerfilePath", "buildContext", "buildArgs", "tag"} (- for stdin); the flags override it
    #[arg(long, value_name = "FILE", value_parser = read_input)]
    input: Option<InputData>,
    #[arg(long, value_name = "PATH", value_parser = values::path, help = format!("The Dockerfile [default: {DEFAULT_DOCKERFILE}]"))]
    dockerfile: Option<Utf8PathBuf>,
    /// The build context [default: the project root; .dockerignore keeps it small]
    #[arg(long, value_name = "DIR", value_parser = values::path)]
    context: Option<Utf8PathBuf>,
    /// A build arg; repeatable. BUILDER_IMAGE, RUNTIME_IMAGE, PYTHON_MINOR choose the bases; a value whose key or form says it is secret is never printed
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = pair)]
    build_args: Vec<(String, String)>,
    #[arg(long, value_name = "NAME[:TAG]", value_parser = tag, help = format!("The image's tag [default: {DEFAULT_TAG}]"))]
    tag: Option<String>,
    #[arg(long, value_name = "MODULE:ATTR", value_parser = values::app, help = format!("The app uvicorn serves, such as app.main:app (build arg {APP_MODULE}) [default: {DEFAULT_APP}]"))]
    app: Option<String>,
    #[arg(long = "app-port", value_name = "PORT", value_parser = values::port, help = format!("The port the service listens on in its container (build arg {APP_PORT}) [default: {DEFAULT_PORT}]"))]
    app_port: Option<u16>,
    #[arg(long, value_name = "/PATH", value_parser = request_path, help = format!("The path that says the service is ready (build arg {HEALTH_PATH}) [default: {DEFAULT_HEALTH}]"))]
    health: Option<String>,
    /// The bases' Python, X.Y (build arg PYTHON_MINOR): online python:X.Y; offline the Debian release that carries it (3.9 bullseye, 3.11 bookworm, 3.13 trixie)
    #[arg(long, value_name = "X.Y", value_parser = values::python)]
    python: Option<String>,
    #[command(flatten)]
    offline: OfflineFlag,
    /// Build every step again
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// An image in a registry (and the stage caches `push --cache` put beside it) to reuse steps from; repeatable
    #[arg(long = "cache-from", value_name = "REF", value_parser = reference::normalize)]
    cache_from: Vec<String>,
    /// A BuildKit secret mount, in no layer, no history, no log; repeatable
    #[arg(long, value_name = "id=NAME,src=FILE|env=VAR", value_parser = Secret::parse)]
    secret: Vec<Secret>,
}

fn tag(value: &str) -> Result<String, String> {
    reference::normalize(value).map(|_| value.to_string())
}

impl ImageFlags {
    /// What `cargo xtask image ARGS` would build: for a build that is not
    /// `image`'s own but must be the same (`bench`'s plain builds).
    pub fn spec_of(args: &[&str]) -> Result<BuildSpec> {
        super::parse::<ImageFlags>("image", args.iter().map(Into::into))?.into_spec()
    }

    pub fn into_spec(self) -> Result<BuildSpec> {
        let root = project::root();
        let (mut dockerfile, mut context, mut input_args, mut tag) = (None, None, BTreeMap::new(), None);
        let mut flag_args: BTreeMap<String, String> = self.build_args.into_iter().collect();
        flag_args.extend(self.python.map(|python| (PYTHON_MINOR.to_string(), python)));
        let flag_contract = Asked { app: self.app, port: self.app_port, health: self.health };
        if let Some(input) = self.input {
            dockerfile = Some(project::from_user(&input.dockerfile_path)?);
            context = input.build_context.as_deref().map(project::from_user).transpose()?;
            input_args = input.build_args;
            tag = input.tag;
        }
        let dockerfile = self.dockerfile.or(dockerfile).unwrap_or_else(|| root.join(DEFAULT_DOCKERFILE));
        // The project's file, then InputData, then the flags: the contract
        // typed out of each.
        let mut contract = Asked::default();
        let mut build_args = BTreeMap::new();
        // The project's file may name the image, as `--tag` does: a service
        // adopted once is built under its own name with no flag.
        let mut file_args = build_args_file::read(&dockerfile)?;
        let file_tag = file_args.remove(IMAGE_TAG);
        for (from, mut args) in
            [("docker/build-args", file_args), ("InputData's buildArgs", input_args), ("--build-arg", flag_args)]
        {
            contract = contract.over(values::contract(&mut args).map_err(|why| usage(format!("{from}: {why}")))?);
            build_args.extend(args);
        }
        let contract = contract.over(flag_contract);
        build_args.iter().for_each(|(key, value)| mask::setting(key, value));
        let offline = self.offline.requested();
        if offline {
            // A Python no release carries is a mistake in what was asked.
            standins::suite_for(&build_args)?;
        }
        let tag = self.tag.or(tag).or(file_tag);
        let tag = reference::normalize(tag.as_deref().unwrap_or(DEFAULT_TAG)).map_err(usage)?;
        mask::name(&tag);
        Ok(BuildSpec {
            tag,
            dockerfile,
            context: self.context.or(context).unwrap_or(root),
            build_args,
            contract,
            offline,
            no_cache: self.no_cache,
            secrets: self.secret,
            cache_from: self.cache_from,
            target: None,
        })
    }
}

/// `--input FILE` (or `-` for stdin) holds the contract's InputData.
/// serde's messages quote the values they refuse, and a build arg's value
/// may be a secret: a refusal says where, and what was expected, only.
fn read_input(file: &str) -> Result<InputData, String> {
    let shown = values::quoted(file);
    let text = match file {
        "-" => {
            std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read the input from stdin: {e}"))?
        }
        _ => std::fs::read_to_string(file).map_err(|e| format!("cannot read the input file {shown}: {e}"))?,
    };
    serde_json::from_str(&text).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Data => {
                "not InputData (its fields are dockerfilePath, buildContext?, buildArgs? as string values, tag?)"
            }
            _ => "not JSON",
        };
        format!("{shown} is {why}: line {}, column {}", e.line(), e.column())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::UsageError;

    fn parse(list: &[&str]) -> Result<BuildSpec> {
        crate::cli::parse::<ImageFlags>("image", list.iter().map(Into::into))?.into_spec()
    }

    #[test]
    fn defaults_follow_the_layout() {
        let spec = parse(&[]).unwrap();
        assert_eq!(spec.tag, "fastapi-server:latest");
        assert_eq!(spec.dockerfile, project::root().join("docker/Dockerfile"));
        assert_eq!(spec.context, project::root());
    }

    #[test]
    fn every_input_reaches_the_spec() {
        let spec = parse(&[
            "--dockerfile",
            "/d/Dockerfile",
            "--context=/ctx",
            "--tag",
            "app",
            "--build-arg",
            "A=1",
            "--no-cache",
        ])
        .unwrap();
        assert_eq!(
            (spec.dockerfile.as_str(), spec.context.as_str(), spec.tag.as_str()),
            ("/d/Dockerfile", "/ctx", "app:latest")
        );
        assert_eq!((spec.build_args["A"].as_str(), spec.no_cache), ("1", true));
        let spec = parse(&["--app", "app.main:app", "--app-port", "9000", "--health", "/healthz", "--python", "3.13"])
            .unwrap();
        let asked = Asked { app: Some("app.main:app".into()), port: Some(9000), health: Some("/healthz".into()) };
        assert_eq!(spec.contract, asked);
        assert_eq!(spec.build_args, BTreeMap::from([(PYTHON_MINOR.to_string(), "3.13".to_string())]));
        let spec = parse(&["--build-arg", "APP_PORT=9001", "--app-port", "9002"]).unwrap();
        assert_eq!((spec.contract.port, spec.build_args.len()), (Some(9002), 0), "the flag wins; no string is left");
        let error = parse(&["--build-arg", "APP_PORT=x"]).unwrap_err().to_string();
        assert!(error.contains("APP_PORT `x` is not a port"), "{error}");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for (args, says) in [
            (&["--bogus"][..], "`--bogus` is not a flag of `cargo xtask image`"),
            (&["--build-arg", "NOVALUE"], "must have the form KEY=VALUE"),
            (&["--tag", "Bad Tag"], "is not a valid image tag"),
            (&["--app", "app/main.py"], "must have the form MODULE:ATTR"),
            (&["--app-port", "0"], "is not a port from 1 to 65535"),
            (&["--health", "healthz"], "takes a path that starts with /"),
        ] {
            let error = parse(args).unwrap_err();
            assert!(error.downcast_ref::<UsageError>().is_some());
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
        let spec = parse(&["--input", dir.to_str().unwrap()]).unwrap();
        std::fs::write(&dir, r#"{"dockerfilePath":"/d","extra":1}"#).unwrap();
        let error = parse(&["--input", dir.to_str().unwrap()]).unwrap_err();
        assert_eq!((spec.tag.as_str(), spec.context.as_str(), spec.build_args["A"].as_str()), ("x:2", "/ctx", "1"));
        assert!(error.to_string().contains("is not InputData"), "{error}");
        std::fs::write(&dir, r#"{"dockerfilePath":"/d","buildArgs":{"TOKEN":["s3cret"]}}"#).unwrap();
        let error = parse(&["--input", dir.to_str().unwrap()]).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    /// The project's docker/build-args may name the image; InputData's tag
    /// and `--tag` win over it, and it is no build arg.
    #[test]
    fn the_project_s_file_names_the_image() {
        let dir = camino::Utf8PathBuf::try_from(std::env::temp_dir().join(project::unique_name("named"))).unwrap();
        std::fs::create_dir_all(dir.join("docker")).unwrap();
        std::fs::write(
            dir.join("docker/build-args"),
            "IMAGE_TAG=adopted/api:2
A=1
",
        )
        .unwrap();
        let dockerfile = dir.join("docker/Dockerfile");
        let named = parse(&["--dockerfile", dockerfile.as_str()]).unwrap();
        let flagged = parse(&["--dockerfile", dockerfile.as_str(), "--tag", "other"]).unwrap();
        std::fs::write(
            dir.join("docker/build-args"),
            "IMAGE_TAG=Not A Name
",
        )
        .unwrap();
        let bad = parse(&["--dockerfile", dockerfile.as_str()]).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((named.tag.as_str(), named.build_args.contains_key(IMAGE_TAG)), ("adopted/api:2", false));
        assert_eq!(flagged.tag, "other:latest");
        assert!(!bad.is_empty());
    }

    /// Flags override `--input`, whatever their order.
    #[test]
    fn flags_win_over_the_input_file_in_any_order() {
        let file = std::env::temp_dir().join(project::unique_name("input"));
        std::fs::write(
            &file,
            r#"{"dockerfilePath":"/d/Dockerfile","buildContext":"/in","buildArgs":{"A":"in","B":"in"},"tag":"in:1"}"#,
        )
        .unwrap();
        let file = file.to_str().unwrap();
        let before = parse(&["--tag", "flag:1", "--context", "/flag", "--build-arg", "A=flag", "--input", file]);
        let after = parse(&["--input", file, "--tag", "flag:1", "--context", "/flag", "--build-arg", "A=flag"]);
        std::fs::remove_file(file).unwrap();
        for spec in [before.unwrap(), after.unwrap()] {
            assert_eq!(
                (spec.tag.as_str(), spec.context.as_str(), spec.dockerfile.as_str()),
                ("flag:1", "/flag", "/d/Dockerfile")
            );
            assert_eq!((spec.build_args["A"].as_str(), spec.build_args["B"].as_str()), ("flag", "in"));
        }
    }
}
