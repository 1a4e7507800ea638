//! `cargo xtask down [--volumes]`: stops and removes this checkout's stack
//! (the stack of its Compose file, as `up` names it)
//! (its containers and network); its data, in its volumes, stays for the
//! next `up` unless `--volumes`.

use anyhow::Result;
use serde::Serialize;

use super::{Done, Task};
use crate::{
    cli::{EngineFlag, StackFileFlag},
    engine::{choice::Choice, compose::Project},
    report::Report,
    service::stack::checkout_name,
};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownReport {
    /// The Compose project: this checkout's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Its volumes, and so its data, went too.
    pub volumes_removed: bool,
    pub success: bool,
    pub message: String,
}

impl Report for DownReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> DownReport {
        DownReport { message, ..DownReport::default() }
    }
}

/// Stop and remove this checkout's stack; its data stays unless --volumes
#[derive(Debug, clap::Parser)]
#[command(name = "down")]
pub struct Flags {
    /// Remove its volumes too: the stack's data is gone
    #[arg(long)]
    volumes: bool,
    #[command(flatten)]
    file: StackFileFlag,
    #[command(flatten)]
    engine: EngineFlag,
}

pub struct Down {
    volumes: bool,
    file: StackFileFlag,
    engine: Choice,
}

impl Task for Down {
    type Flags = Flags;
    type Report = DownReport;

    fn new(flags: Flags) -> Result<Down> {
        Ok(Down { volumes: flags.volumes, file: flags.file, engine: flags.engine.choice()? })
    }

    fn run(self) -> Done<DownReport> {
        let file = self.file.path();
        let name = checkout_name(&file);
        let mut report =
            DownReport { project: Some(name.clone()), volumes_removed: self.volumes, ..Default::default() };
        let engine = self.engine.engine();
        // Without its file (moved, or broken), Compose goes by the name alone.
        let files = if file.is_file() { vec![file] } else { Vec::new() };
        let taken = Project::new(&engine, name.clone(), files).and_then(|compose| compose.down(self.volumes));
        match taken {
            Ok(()) => {
                report.success = true;
                report.message = match self.volumes {
                    true => format!("The stack {name} is down on {}, and its data is gone.", engine.name()),
                    false => format!(
                        "The stack {name} is down on {}; its data stays for the next `cargo xtask up` (`--volumes` \
                         removes it).",
                        engine.name()
                    ),
                };
            }
            Err(error) => {
                report.volumes_removed = false;
                report.message = format!("{error:#}");
            }
        }
        report.into()
    }
}
