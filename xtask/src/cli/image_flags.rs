//! The flags that say which image to build, shared by every task that
//! builds one, and the contract's InputData (`--input FILE`), which says
//! the same as JSON.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;
use serde::Deserialize;

use super::{build_args_file, request_path, usage, Given};
use crate::{
    engine::{
        build::{BuildSpec, Secret},
        offline, reference,
    },
    service::contract::{self, APP_MODULE, APP_PORT, HEALTH_PATH},
    sys::project,
};

pub const DEFAULT_TAG: &str = "fastapi-server:latest";

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

/// The image flags as given. `--input` is read as it comes, and the flags
/// override what it says, whatever their order.
#[derive(Debug, Default)]
pub struct ImageFlags {
    input: Option<InputData>,
    dockerfile: Option<Utf8PathBuf>,
    context: Option<Utf8PathBuf>,
    build_args: BTreeMap<String, String>,
    tag: Option<String>,
    offline: bool,
    no_cache: bool,
    secrets: Vec<Secret>,
    cache_from: Vec<String>,
}

impl ImageFlags {
    /// Takes one of the image flags.
    pub fn accept(&mut self, given: &Given) -> Result<()> {
        match given.name() {
            "--dockerfile" => self.dockerfile = Some(project::from_user(given.value())?),
            "--context" => self.context = Some(project::from_user(given.value())?),
            "--build-arg" => {
                let (key, value) = given.pair()?;
                self.build_args.insert(key, value);
            }
            "--app" if contract::is_app_reference(given.value()) => {
                self.build_args.insert(APP_MODULE.into(), given.value().into());
            }
            "--app" => {
                return Err(usage(format!(
                    "`--app {}` must have the form MODULE:ATTR, such as app.main:app",
                    given.value()
                )))
            }
            "--app-port" => {
                let port = given.value().parse::<u16>().ok().filter(|port| *port > 0);
                let port =
                    port.ok_or_else(|| usage(format!("`--app-port {}` is not a port from 1 to 65535", given.value())))?;
                self.build_args.insert(APP_PORT.into(), port.to_string());
            }
            "--health" => {
                self.build_args.insert(HEALTH_PATH.into(), request_path("--health", given.value())?);
            }
            "--tag" => self.tag = Some(given.value().to_string()),
            "--offline" => self.offline = true,
            "--no-cache" => self.no_cache = true,
            "--secret" => self.secrets.push(Secret::parse(given.value()).map_err(usage)?),
            "--cache-from" => self.cache_from.push(reference::normalize(given.value()).map_err(usage)?),
            "--input" => self.input = Some(read_input(given.value())?),
            _ => return Err(given.unhandled()),
        }
        Ok(())
    }

    pub fn into_spec(self) -> Result<BuildSpec> {
        let root = project::root();
        let (mut dockerfile, mut context, mut input_args, mut tag) = (None, None, BTreeMap::new(), None);
        if let Some(input) = self.input {
            dockerfile = Some(project::from_user(&input.dockerfile_path)?);
            context = input.build_context.as_deref().map(project::from_user).transpose()?;
            input_args = input.build_args;
            tag = input.tag;
        }
        let dockerfile = self.dockerfile.or(dockerfile).unwrap_or_else(|| root.join("docker/Dockerfile"));
        // The project's file, then InputData, then the flags.
        let mut build_args = build_args_file::read(&dockerfile)?;
        build_args.extend(input_args);
        build_args.extend(self.build_args);
        let tag = self.tag.or(tag);
        Ok(BuildSpec {
            tag: reference::normalize(tag.as_deref().unwrap_or(DEFAULT_TAG)).map_err(usage)?,
            dockerfile,
            context: self.context.or(context).unwrap_or(root),
            build_args,
            offline: offline::requested(self.offline),
            no_cache: self.no_cache,
            secrets: self.secrets,
            cache_from: self.cache_from,
            target: None,
        })
    }
}

/// `--input FILE` (or `-` for stdin) holds the contract's InputData.
fn read_input(file: &str) -> Result<InputData> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the input from stdin")?
    } else {
        std::fs::read_to_string(file).map_err(|e| usage(format!("cannot read the input file {file}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("the input {file} is not valid InputData: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Args, UsageError};

    fn parse(list: &[&str]) -> Result<BuildSpec> {
        let mut flags = ImageFlags::default();
        let mut args = Args::of("image", list);
        while let Some(given) = args.next()? {
            flags.accept(&given)?;
        }
        flags.into_spec()
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
        let spec = parse(&["--app", "app.main:app", "--app-port", "9000", "--health", "/healthz"]).unwrap();
        let contract: Vec<&str> = spec.build_args.values().map(String::as_str).collect();
        assert_eq!(contract, ["app.main:app", "9000", "/healthz"], "APP_MODULE, APP_PORT, HEALTH_PATH");
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for (args, says) in [
            (&["--bogus"][..], "`--bogus` is not a flag of `cargo xtask image`"),
            (&["--build-arg", "NOVALUE"], "must have the form KEY=VALUE"),
            (&["--tag", "Bad Tag"], "is not a valid image tag"),
            (&["--app", "app/main.py"], "must have the form MODULE:ATTR"),
            (&["--app-port", "0"], "is not a port from 1 to 65535"),
            (&["--health", "healthz"], "must start with /"),
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
        std::fs::remove_file(&dir).unwrap();
        assert_eq!((spec.tag.as_str(), spec.context.as_str(), spec.build_args["A"].as_str()), ("x:2", "/ctx", "1"));
        assert!(error.to_string().contains("unknown field `extra`"), "{error}");
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
