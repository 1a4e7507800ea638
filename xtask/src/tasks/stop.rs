//! `cargo xtask stop [--all] [--tag NAME[:TAG]]`: removes the containers
//! that `run` started from this checkout, or with `--all` every container
//! of ours on the engine, other checkouts' and live smoke runs included;
//! `--tag` keeps to the containers of that image tag.

use anyhow::Result;
use serde::Serialize;

use super::{Done, Task};
use crate::{
    cli::EngineFlag,
    engine::{
        choice::Choice,
        container::{MANAGED, PROJECT, TAG_LABEL, TASK},
        Engine,
    },
    model::reference,
    report::Report,
    sys::project,
};

#[derive(Debug, Default, Serialize)]
pub struct StopReport {
    pub removed: Vec<String>,
    pub success: bool,
    pub message: String,
}

impl Report for StopReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> StopReport {
        StopReport { message, ..StopReport::default() }
    }
}

/// Remove the containers `run` started from this checkout
#[derive(Debug, clap::Parser)]
#[command(name = "stop")]
pub struct Flags {
    /// Every container of ours on the engine: other checkouts', smoke and lint runs included
    #[arg(long)]
    all: bool,
    /// Only the containers of that image tag
    #[arg(long, value_name = "NAME[:TAG]", value_parser = reference::normalize)]
    tag: Option<String>,
    #[command(flatten)]
    engine: EngineFlag,
}

#[derive(Debug)]
pub struct Stop {
    all: bool,
    tag: Option<String>,
    engine: Choice,
}

impl Task for Stop {
    type Flags = Flags;
    type Report = StopReport;

    fn new(flags: Flags) -> Result<Stop> {
        Ok(Stop { all: flags.all, tag: flags.tag, engine: flags.engine.choice()? })
    }

    fn run(self) -> Done<StopReport> {
        let engine = self.engine.engine();
        match self.remove(&engine) {
            Ok(removed) => {
                let message = format!("Removed {} container(s) on {}.", removed.len(), engine.name());
                StopReport { removed, success: true, message }
            }
            Err(error) => StopReport::failure(format!("{error:#}")),
        }
        .into()
    }
}

impl Stop {
    /// Label filters of the containers to remove (the engine ANDs them).
    fn filters(&self) -> Vec<String> {
        let which = match self.all {
            true => vec![format!("label={MANAGED}")],
            false => vec![format!("label={TASK}=run"), format!("label={PROJECT}={}", project::root())],
        };
        let tag = self.tag.iter().map(|tag| format!("label={TAG_LABEL}={tag}"));
        which.into_iter().chain(tag).collect()
    }

    fn remove(&self, engine: &Engine) -> Result<Vec<String>> {
        engine.version()?;
        let names = engine.container_names(&self.filters())?;
        engine.remove_containers(&names)?;
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(list: &[&str]) -> String {
        Stop::new(crate::cli::parse("stop", list.iter().map(Into::into)).unwrap()).unwrap().filters().join(" ")
    }

    #[test]
    fn filters_pick_what_to_remove() {
        let this_checkout = format!("label=dev.xtask.task=run label=dev.xtask.project={}", project::root());
        assert_eq!(filters(&[]), this_checkout);
        assert_eq!(filters(&["--all"]), "label=dev.xtask.managed");
        assert_eq!(filters(&["--tag", "app"]), format!("{this_checkout} label=dev.xtask.tag=app:latest"));
    }
}
