//! The command line, declared once. Each task's flags are one struct that
//! derives `clap::Parser`: a field's name, value type, default and help
//! are written there and nowhere else, and the parser, `cargo xtask TASK
//! --help` and the flag tables of docs/reference.md all come from it
//! (`tasks::help`). The groups several tasks share are flattened into them:
//! `ImageFlags` (what to build), `EngineFlag`, `SettingsFlags`.
//!
//! clap's own error messages quote the values they refuse, and a value may
//! be a secret: `usage` turns each error into our one sentence, which names
//! the flag and never the value.

use camino::{Utf8Path, Utf8PathBuf};

mod build_args_file;
mod checks_file;
mod image_flags;
mod settings;
mod shared_flags;
mod stack_flags;
mod usage;
pub mod values;

pub use self::{
    checks_file::ProjectChecks,
    image_flags::{ImageFlags, DEFAULT_TAG},
    settings::SettingsFlags,
    shared_flags::{AttachFlag, NoBuildFlag, OfflineFlag, StackFlag},
    stack_flags::{StackChoice, StackFileFlag, StackFlags},
    usage::{parse, usage, UsageError},
    values::{pair, request_path},
};
use crate::engine::{build::BuildSpec, choice::Choice, container::Settings};

/// The project's own file `name` beside `dockerfile` (`build-args`, `run.env`).
fn beside_dockerfile(dockerfile: &Utf8Path, name: &str) -> Utf8PathBuf {
    dockerfile.parent().unwrap_or(Utf8Path::new(".")).join(name)
}

/// The project's own file `name` beside `dockerfile`, and its text: None
/// when there is no such file, which is no error: every one is optional.
fn read_beside_dockerfile(dockerfile: &Utf8Path, name: &str) -> anyhow::Result<(Utf8PathBuf, Option<String>)> {
    let path = beside_dockerfile(dockerfile, name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, Some(text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok((path, None)),
        Err(error) => Err(usage(format!("cannot read {path}: {error}"))),
    }
}

/// The headings of the shared groups, in `--help` and docs/reference.md.
pub const IMAGE_FLAGS: &str = "Image flags (what to build)";
pub const SETTINGS_FLAGS: &str = "Settings flags (the service's settings at run time)";
pub const ENGINE_FLAG: &str = "Engine flag";

/// What every task that starts the service takes: what to build, its
/// settings at run time, and the engine.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceFlags {
    #[command(flatten)]
    image: ImageFlags,
    #[command(flatten)]
    settings: SettingsFlags,
    #[command(flatten)]
    engine: EngineFlag,
}

/// The service as the project's files and the flags describe it.
pub struct Service {
    pub spec: BuildSpec,
    pub settings: Settings,
    pub checks: ProjectChecks,
    pub engine: Choice,
}

impl ServiceFlags {
    /// What to build, the settings over the project's `run.env` and
    /// `run.local.env`, the project's checks, and the engine.
    pub fn read(self) -> anyhow::Result<Service> {
        let spec = self.image.into_spec()?;
        let run = self.settings.over_project(&spec.dockerfile)?;
        let checks = checks_file::read(&spec.dockerfile, &run.values)?;
        Ok(Service { spec, settings: run.settings, checks, engine: self.engine.choice()? })
    }
}

/// Which engine: every task that talks to one takes it.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = ENGINE_FLAG)]
pub struct EngineFlag {
    /// The container engine (also XTASK_ENGINE); default Docker when one answers, else podman
    #[arg(long, value_name = "docker|podman")]
    engine: Option<String>,
}

impl EngineFlag {
    /// XTASK_ENGINE is read, and refused when wrong, only by the tasks that
    /// talk to an engine: those that take this flag.
    pub fn choice(&self) -> anyhow::Result<Choice> {
        Choice::of(self.engine.as_deref()).map_err(usage)
    }
}
