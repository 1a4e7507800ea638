//! The flags of the tasks that start the stack (`up`, `smoke --stack`,
//! `down`): which Compose file, and how long it may take.

use std::{collections::BTreeMap, time::Duration};

use camino::Utf8PathBuf;

use super::{usage, values, StackFlag};
use crate::{
    engine::container::Settings,
    model::env_file,
    service::stack::{StackSpec, STACK_TIMEOUT},
    sys::{mask, project},
};

/// The stack's Compose file.
#[derive(Debug, Default, clap::Args)]
pub struct StackFileFlag {
    /// The stack's Compose file [default: compose.yaml in the project's root]
    #[arg(long, value_name = "FILE", value_parser = values::path)]
    file: Option<Utf8PathBuf>,
}

impl StackFileFlag {
    pub fn path(&self) -> Utf8PathBuf {
        self.file.clone().unwrap_or_else(|| project::root().join("compose.yaml"))
    }
}

/// `--stack` and the stack's flags, for the tasks that work with the
/// service alone unless asked (`smoke`, `watch`).
#[derive(Debug, Default, clap::Args)]
pub struct StackChoice {
    #[command(flatten)]
    stack: StackFlag,
    #[command(flatten)]
    flags: StackFlags,
}

impl StackChoice {
    /// The stack asked for, if any; a stack's flag without `--stack` is a
    /// mistake, not a setting to ignore.
    pub fn into_spec(self, offline: bool, settings: &Settings) -> anyhow::Result<Option<StackSpec>> {
        let given =
            [("--file", self.flags.file.file.is_some()), ("--stack-timeout", self.flags.stack_timeout.is_some())];
        match given.iter().find(|(_, given)| *given) {
            Some((flag, _)) if !self.stack.stack => {
                Err(usage(format!("`{flag}` goes with `--stack`, which was not given")))
            }
            _ => Ok(self.stack.stack.then(|| self.flags.into_spec(offline, settings))),
        }
    }
}

/// The flags of a task that starts the stack.
#[derive(Debug, Default, clap::Args)]
pub struct StackFlags {
    #[command(flatten)]
    file: StackFileFlag,
    #[arg(long = "stack-timeout", value_name = "SECS", value_parser = values::seconds,
          help = format!("How long the whole stack may take to be ready [default: {}]", STACK_TIMEOUT.as_secs()))]
    stack_timeout: Option<Duration>,
}

impl StackFlags {
    /// The stack to start: offline or not as the image is built, with the
    /// service's `settings`: their `--env` values are variables for the
    /// file, and their files reach the services of the image.
    pub fn into_spec(self, offline: bool, settings: &Settings) -> StackSpec {
        let file = self.file.path();
        let dotenv = file.parent().map(|dir| dotenv(&std::fs::read_to_string(dir.join(".env")).unwrap_or_default()));
        StackSpec {
            file,
            offline,
            variables: settings.env.clone(),
            env_files: settings.env_files.clone(),
            dotenv: dotenv.unwrap_or_default(),
            timeout: self.stack_timeout.unwrap_or(STACK_TIMEOUT),
        }
    }
}

/// The `KEY=VALUE` lines of a `.env` file, as Compose reads them, each
/// value masked from now on when it is a secret.
fn dotenv(text: &str) -> BTreeMap<String, String> {
    let pairs = env_file::pairs(text);
    pairs.iter().for_each(|(key, value)| mask::setting(key, value));
    pairs
}
