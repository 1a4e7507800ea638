//! `cargo xtask stop [--all] [--tag NAME[:TAG]]`: removes the containers
//! `run` started, or with `--all` every container of ours, live smoke runs
//! included; `--tag` keeps to the containers of that image tag.

use anyhow::Result;
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::{
    cli::{self, Args},
    container::{self, MANAGED, TAG as LABEL_TAG, TASK},
    docker, reference,
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
    tag: Option<String>,
}

impl Stop {
    pub fn parse(args: &mut Args) -> Result<Stop> {
        let mut stop = Stop { all: false, tag: None };
        while let Some(flag) = args.next_flag()? {
            match flag.as_str() {
                "--all" => stop.all = true,
                "--tag" => stop.tag = Some(reference::normalize(&args.value(&flag)?).map_err(cli::usage)?),
                _ => return Err(cli::unknown_flag("stop", &flag)),
            }
        }
        Ok(stop)
    }

    /// `docker ps --filter` arguments (filters on labels are ANDed).
    fn filters(&self) -> Vec<String> {
        let which = if self.all { format!("label={MANAGED}") } else { format!("label={TASK}=run") };
        let tag = self.tag.iter().map(|tag| format!("label={LABEL_TAG}={tag}"));
        std::iter::once(which).chain(tag).flat_map(|filter| ["--filter".to_string(), filter]).collect()
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
        let (filters, format) = (self.filters(), "{{.Names}}");
        let names = cmd!(sh, "docker ps --all {filters...} --format {format}").quiet().read()?;
        let names: Vec<String> = names.lines().map(str::to_string).collect();
        container::remove(sh, &names)?;
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(list: &[&str]) -> String {
        Stop::parse(&mut Args::of(list)).unwrap().filters().join(" ")
    }

    #[test]
    fn filters_pick_what_to_remove() {
        assert_eq!(filters(&[]), "--filter label=dev.xtask.task=run");
        assert_eq!(filters(&["--all"]), "--filter label=dev.xtask.managed");
        assert_eq!(
            filters(&["--tag", "app"]),
            "--filter label=dev.xtask.task=run --filter label=dev.xtask.tag=app:latest"
        );
    }
}
