//! `cargo xtask stop [--all]`: removes the containers `run` started, or
//! with `--all` every container of ours, live smoke runs included.

use anyhow::Result;
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::{
    cli::{self, Args},
    container::{self, MANAGED, TASK},
    docker,
};

#[derive(Debug, Serialize)]
pub struct StopReport {
    pub removed: Vec<String>,
    pub success: bool,
    pub message: String,
}

#[derive(Debug)]
pub struct Stop {
    all: bool,
}

impl Stop {
    pub fn parse(args: &mut Args) -> Result<Stop> {
        let mut all = false;
        while let Some(flag) = args.next_flag()? {
            match flag.as_str() {
                "--all" => all = true,
                _ => return Err(cli::unknown_flag("stop", &flag)),
            }
        }
        Ok(Stop { all })
    }

    pub fn run(self, sh: &Shell) -> bool {
        let report = match self.remove(sh) {
            Ok(removed) => {
                let message = format!("Removed {} container(s).", removed.len());
                StopReport { removed, success: true, message }
            }
            Err(error) => StopReport { removed: Vec::new(), success: false, message: format!("{error:#}") },
        };
        crate::emit(&report);
        report.success
    }

    fn remove(&self, sh: &Shell) -> Result<Vec<String>> {
        docker::ensure_engine(sh)?;
        let filter = if self.all { format!("label={MANAGED}") } else { format!("label={TASK}=run") };
        let format = "{{.Names}}";
        let names = cmd!(sh, "docker ps --all --filter {filter} --format {format}").quiet().read()?;
        let names: Vec<String> = names.lines().map(str::to_string).collect();
        container::remove(sh, &names)?;
        Ok(names)
    }
}
